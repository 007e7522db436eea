package org.hopestreams.log;

import org.slf4j.event.Level;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The application's logging backend (an SLF4J 2 provider, {@link HopeLoggerProvider}): every library that logs
 * through SLF4J (Kafka, the broker, Javalin, Apicurio's serde, DJL) and the application's own classes log here.
 * It is set up in code by the commands, at any time (loggers created before follow the new setup):
 * <ul>
 *   <li>by default (tests, {@code learn}, {@code bench}...): text lines on standard error, as before;</li>
 *   <li>{@link #toFile}: the {@code demo} without {@code --verbose}: every record goes to a file, and also
 *       whatever the libraries print to standard output or error; the console keeps only the program's own lines
 *       ({@link #console()}) and ERROR records of {@code org.hopestreams};</li>
 *   <li>{@link #json}: {@code run --log-format json} (or {@code hope.log.format=json}, {@code HOPE_LOG_FORMAT=json}): one JSON object per line on
 *       standard error ({@code time}, {@code level}, {@code logger}, {@code thread}, {@code message}, and
 *       {@code error} with the stack trace), and what anything prints to standard output or error becomes such a
 *       line too, so that a log collector can parse every line.</li>
 * </ul>
 * Levels: {@code hope-logging.properties} on the class path ({@code level} the default, {@code level.PREFIX} per
 * logger name prefix, the longest prefix wins; {@code off} silences), then system properties
 * {@code hope.log.level} and {@code hope.log.level.PREFIX} over them. Routine WARN messages
 * ({@code routine.LOGGER.N=TEXT} there: a library's WARN that says what is expected, beside real problems on the
 * same logger) are logged at INFO ({@link #effectiveLevel}).
 */
public final class Logging {
    /** System property prefix of per-logger levels ({@code -Dhope.log.level.org.apache.kafka=info}). */
    public static final String LEVEL_PROPERTY = "hope.log.level";
    static final String OWN_PREFIX = "org.hopestreams";
    /** An effective level that logs nothing. */
    static final int OFF = Integer.MAX_VALUE;

    public enum Format { TEXT, JSON;

        /** {@code text} or {@code json}, any case. */
        public static Format parse(String s) {
            try {
                return valueOf(s.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("log format '" + s + "' must be text or json");
            }
        }
    }

    /** Where log records go: the console (text or JSON) and perhaps a file; console filtered in file mode. */
    record Setup(Format consoleFormat, boolean consoleOwnErrorsOnly, PrintStream file) {
    }

    /**
     * A WARN record that says something routine ({@code routine.LOGGER.N=TEXT} in {@code hope-logging.properties}):
     * a logger named {@code logger} or below it whose message contains {@code text}.
     */
    record Routine(String logger, String text) {
        boolean matches(String name, String message) {
            return (name.equals(logger) || name.startsWith(logger + ".")) && message.contains(text);
        }
    }

    /** The streams the process started with, before any redirection: the console. */
    private static final PrintStream ORIGINAL_OUT = System.out;
    private static final PrintStream ORIGINAL_ERR = System.err;
    private static final DateTimeFormatter CONSOLE_TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");
    private static final DateTimeFormatter FILE_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");

    private static volatile Setup setup = new Setup(Format.TEXT, false, null);
    private static volatile Map<String, Integer> levels = loadLevels();
    private static volatile List<Routine> routine = loadRoutine();
    private static volatile int generation;

    static {
        // log4j-core (the broker's) would otherwise pick the test kit's log4j2.yaml, fail to read it, and say so at ERROR
        if (System.getProperty("log4j2.configurationFile") == null && System.getProperty("log4j.configurationFile") == null) {
            System.setProperty("log4j2.configurationFile", "hope-log4j2.properties");
        }
    }

    private Logging() {
    }

    /**
     * Everything to {@code file} (appended; folders made): the records of every logger at its level, and what
     * anything prints to {@code System.out} / {@code System.err} from now on. The console keeps
     * {@link #console()} (the program's own lines) and ERROR records of the application's own loggers.
     *
     * @param alsoConsole also every record on the console, as without a file ({@code --verbose})
     */
    public static synchronized void toFile(Path file, boolean alsoConsole) throws IOException {
        if (file.toAbsolutePath().getParent() != null) {
            Files.createDirectories(file.toAbsolutePath().getParent());
        }
        PrintStream out = new PrintStream(new FileOutputStream(file.toFile(), true), true, StandardCharsets.UTF_8);
        closeFile();
        setup = new Setup(Format.TEXT, !alsoConsole, out);
        routeJul();
        if (!alsoConsole) {
            System.setOut(new PrintStream(new LineLog("stdout", Level.INFO), true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(new LineLog("stderr", Level.WARN), true, StandardCharsets.UTF_8));
        }
    }

    /**
     * One JSON object per line on the console for every record, and what anything prints to {@code System.out} /
     * {@code System.err} from now on as records of logger {@code stdout} (INFO) / {@code stderr} (WARN).
     */
    public static synchronized void json() {
        closeFile();
        setup = new Setup(Format.JSON, false, null);
        routeJul();
        System.setOut(new PrintStream(new LineLog("stdout", Level.INFO), true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new LineLog("stderr", Level.WARN), true, StandardCharsets.UTF_8));
    }

    /**
     * java.util.logging (the Apicurio client's Vert.x, OpenTelemetry) into these records too, instead of its own
     * two-line format on standard error.
     */
    private static void routeJul() {
        java.util.logging.Logger root = java.util.logging.LogManager.getLogManager().getLogger("");
        for (java.util.logging.Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        root.addHandler(new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                String name = r.getLoggerName() == null ? "jul" : r.getLoggerName();
                int v = r.getLevel().intValue();
                Level l = v >= 1000 ? Level.ERROR : v >= 900 ? Level.WARN : v >= 800 ? Level.INFO
                        : v >= 500 ? Level.DEBUG : Level.TRACE;
                if (l.toInt() >= levelOf(name)) {
                    String msg = r.getMessage();
                    try {
                        msg = new java.util.logging.SimpleFormatter().formatMessage(r);
                    } catch (RuntimeException ignored) {
                        // the raw message
                    }
                    Level effective = effectiveLevel(name, l, String.valueOf(msg));
                    if (effective.toInt() >= levelOf(name)) {
                        write(name, effective, String.valueOf(msg), r.getThrown());
                    }
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        });
    }

    /** Back to text on standard error, the streams as they were (tests). */
    public static synchronized void reset() {
        closeFile();
        setup = new Setup(Format.TEXT, false, null);
        System.setOut(ORIGINAL_OUT);
        System.setErr(ORIGINAL_ERR);
        reloadLevels();
    }

    /** Reads the levels again (after a change of the {@value #LEVEL_PROPERTY} system properties). */
    public static synchronized void reloadLevels() {
        levels = loadLevels();
        routine = loadRoutine();
        generation++;
    }

    /** Changes with every {@link #reloadLevels()}: loggers look their level up again. */
    static int generation() {
        return generation;
    }

    /** The console's standard output: the program's own progress lines go here whatever the setup. */
    public static PrintStream console() {
        return ORIGINAL_OUT;
    }

    private static void closeFile() {
        if (setup.file() != null) {
            setup.file().flush();
            setup.file().close();
        }
    }

    /** The effective level of a logger (an {@link Level#toInt()}, or {@link #OFF}). */
    static int levelOf(String name) {
        Map<String, Integer> l = levels;
        String n = name;
        while (true) {
            Integer v = l.get(n);
            if (v != null) {
                return v;
            }
            int dot = n.lastIndexOf('.');
            if (dot < 0) {
                return l.getOrDefault("", Level.INFO.toInt());
            }
            n = n.substring(0, dot);
        }
    }

    private static Properties configuration() {
        Properties p = new Properties();
        try (InputStream in = Logging.class.getResourceAsStream("/hope-logging.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            ORIGINAL_ERR.println("hope-logging.properties: " + e);
        }
        return p;
    }

    /**
     * The routine WARN messages of {@code hope-logging.properties}: {@code routine.LOGGER.N=TEXT} (N a number, so that
     * one logger may have several).
     */
    static List<Routine> loadRoutine() {
        Properties p = configuration();
        List<Routine> out = new ArrayList<>();
        for (String k : new TreeSet<>(p.stringPropertyNames())) {
            if (k.startsWith("routine.") && k.lastIndexOf('.') > "routine.".length()) {
                String logger = k.substring("routine.".length(), k.lastIndexOf('.'));
                out.add(new Routine(logger, p.getProperty(k).strip()));
            }
        }
        return List.copyOf(out);
    }

    /**
     * The level a record is logged at: {@code level}, except that a WARN record that says something routine
     * ({@link Routine}) is INFO, below the libraries' WARN level: not on the console, and in the log (a file, or
     * the console at INFO) where the logger's level is INFO or lower.
     */
    static Level effectiveLevel(String logger, Level level, String message) {
        if (level == Level.WARN) {
            for (Routine r : routine) {
                if (r.matches(logger, message)) {
                    return Level.INFO;
                }
            }
        }
        return level;
    }

    /** Levels from {@code hope-logging.properties}, then the system properties over them. */
    static Map<String, Integer> loadLevels() {
        Map<String, Integer> out = new TreeMap<>();
        Properties p = configuration();
        p.stringPropertyNames().forEach(k -> put(out, k, "level", p.getProperty(k)));
        System.getProperties().stringPropertyNames().forEach(k -> put(out, k, LEVEL_PROPERTY, System.getProperty(k)));
        return out;
    }

    private static void put(Map<String, Integer> out, String key, String prefix, String value) {
        String logger;
        if (key.equals(prefix)) {
            logger = "";
        } else if (key.startsWith(prefix + ".")) {
            logger = key.substring(prefix.length() + 1);
        } else {
            return;
        }
        out.put(logger, parseLevel(value.strip()));
    }

    static int parseLevel(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "off" -> OFF;
            case "error" -> Level.ERROR.toInt();
            case "warn" -> Level.WARN.toInt();
            case "info" -> Level.INFO.toInt();
            case "debug" -> Level.DEBUG.toInt();
            case "trace" -> Level.TRACE.toInt();
            default -> throw new IllegalArgumentException("log level '" + s + "' must be off, error, warn, info, "
                    + "debug or trace");
        };
    }

    /** Writes one record where the setup says (called by {@link HopeLogger} for records at or over its level). */
    static void write(String logger, Level level, String message, Throwable error) {
        Setup s = setup;
        long now = System.currentTimeMillis();
        String thread = Thread.currentThread().getName();
        if (s.file() != null) {
            String line = FILE_TIME.format(LocalDateTime.ofInstant(Instant.ofEpochMilli(now), ZoneId.systemDefault()))
                    + " " + level + " [" + thread + "] " + logger + " - " + message;
            synchronized (s.file()) {
                s.file().println(line);
                if (error != null) {
                    error.printStackTrace(s.file());
                }
            }
        }
        boolean console = !s.consoleOwnErrorsOnly()
                || level == Level.ERROR && logger.startsWith(OWN_PREFIX);
        if (!console) {
            return;
        }
        if (s.consoleFormat() == Format.JSON) {
            String line = json(now, level, logger, thread, message, error);
            synchronized (ORIGINAL_ERR) {
                ORIGINAL_ERR.println(line);
            }
        } else {
            String line = CONSOLE_TIME.format(LocalDateTime.ofInstant(Instant.ofEpochMilli(now), ZoneId.systemDefault()))
                    + " " + level + " " + logger.substring(logger.lastIndexOf('.') + 1) + " - " + message;
            synchronized (ORIGINAL_ERR) {
                ORIGINAL_ERR.println(line);
                if (error != null) {
                    error.printStackTrace(ORIGINAL_ERR);
                }
            }
        }
    }

    static String json(long time, Level level, String logger, String thread, String message, Throwable error) {
        StringBuilder sb = new StringBuilder(128 + message.length());
        sb.append("{\"time\":\"").append(Instant.ofEpochMilli(time)).append("\",\"level\":\"").append(level)
                .append("\",\"logger\":");
        quote(sb, logger).append(",\"thread\":");
        quote(sb, thread).append(",\"message\":");
        quote(sb, message);
        if (error != null) {
            java.io.StringWriter w = new java.io.StringWriter();
            error.printStackTrace(new java.io.PrintWriter(w));
            sb.append(",\"error\":");
            quote(sb, w.toString());
        }
        return sb.append('}').toString();
    }

    private static StringBuilder quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"');
    }

    /** An output stream that turns each line written to it into a log record (System.out / System.err captured). */
    static final class LineLog extends OutputStream {
        private final String logger;
        private final Level level;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

        LineLog(String logger, Level level) {
            this.logger = logger;
            this.level = level;
        }

        @Override
        public synchronized void write(int b) {
            if (b == '\n') {
                emit();
            } else {
                line.write(b);
            }
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            for (int i = off; i < off + len; i++) {
                write(b[i]);
            }
        }

        private void emit() {
            String s = line.toString(StandardCharsets.UTF_8);
            line.reset();
            if (s.endsWith("\r")) {
                s = s.substring(0, s.length() - 1);
            }
            if (!s.isEmpty() && levelOf(logger) <= level.toInt()) {
                Logging.write(logger, level, s, null);
            }
        }
    }
}
