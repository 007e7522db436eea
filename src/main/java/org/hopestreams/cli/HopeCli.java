package org.hopestreams.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code hope} command line. How to run it: {@code mvn -q package -DskipTests} then
 * {@code java -jar target/hope-streams.jar learn --text README.md}; {@code --help} on any command
 * lists its options.
 */
@Command(name = "hope", mixinStandardHelpOptions = true, version = "hope-streams 0.1.0",
        description = "Continual learning from event streams with a HOPE (Nested Learning) model.",
        subcommands = {LearnCommand.class, PretrainCommand.class, CompleteCommand.class, BenchCommand.class,
                RunCommand.class, DemoCommand.class, EvalCommand.class, PpmCommand.class})
public final class HopeCli {
    public static void main(String[] args) {
        // Every native library comes from the jars on the class path: never download at run time.
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        System.exit(commandLine().execute(args));
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new HopeCli());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof IllegalArgumentException || ex instanceof java.io.IOException
                    || ex instanceof IllegalStateException) {
                cmd.getErr().println("error: " + ex.getMessage());
                return 2;
            }
            throw ex;
        });
        return cl;
    }
}
