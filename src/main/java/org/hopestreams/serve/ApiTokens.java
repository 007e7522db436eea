package org.hopestreams.serve;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The bearer tokens of the HTTP API and what each may ask about, read from a file (a mounted Secret):
 * one token per line, {@code <token> <scope> [name]}; the scope is {@code *} (every key, and the
 * instance-wide routes) or a comma-separated list of key prefixes ({@code user/,team-a/}); the name
 * (optional) is what logs say instead of the token. Blank lines and lines starting with {@code #} are
 * skipped. Example:
 * <pre>
 * # token                              scope          name
 * 9f2c4e0d6b8a41f7a3c5e1d9b7f60a2c     *              prometheus-and-peers
 * 4b7d1a9e3c6f48b2a0d5e8c1f7a39b64     user/,team-a/  portal
 * </pre>
 * Tokens are compared in constant time: every presented token is hashed (SHA-256) and compared with
 * every known token's hash by {@link MessageDigest#isEqual}, with no early exit, so neither the length
 * nor a matching prefix of a token shows in the response time. The file is read again when its
 * modification time changes (Kubernetes updates mounted Secrets in place); a file that cannot be read
 * or parsed at start is an error, and later keeps the last good contents (with the error logged once).
 * Thread-safe.
 */
public final class ApiTokens {
    /** One token's grant: its name (for logs) and the key prefixes it may query; null prefixes = every key. */
    public record Grant(String name, List<String> prefixes) {
        public boolean allKeys() {
            return prefixes == null;
        }

        public boolean allows(String key) {
            if (prefixes == null) {
                return true;
            }
            for (String p : prefixes) {
                if (key.startsWith(p)) {
                    return true;
                }
            }
            return false;
        }
    }

    record Entry(byte[] digest, Grant grant) {
    }

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ApiTokens.class);
    private static final long RECHECK_NANOS = 5_000_000_000L;

    private final Path file;
    private volatile List<Entry> entries;
    private volatile FileTime loadedAt;
    private volatile long checkedAt;

    private ApiTokens(Path file) throws IOException {
        this.file = file;
        this.loadedAt = Files.getLastModifiedTime(file);
        this.entries = parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        this.checkedAt = System.nanoTime();
    }

    /** Reads the tokens file; fails with the file and line of what is wrong. */
    public static ApiTokens load(Path file) throws IOException {
        if (!Files.isReadable(file)) {
            throw new IOException("the API tokens file " + file + " does not exist or cannot be read");
        }
        return new ApiTokens(file);
    }

    /** How many tokens the file holds. */
    public int size() {
        return entries.size();
    }

    /** The grant of a presented token, or empty when it is not one of the file's. */
    public Optional<Grant> authenticate(String presented) {
        reloadIfChanged();
        byte[] d = sha256(presented);
        Grant found = null;
        for (Entry e : entries) {
            if (MessageDigest.isEqual(e.digest, d) && found == null) {
                found = e.grant;
            }
        }
        return Optional.ofNullable(found);
    }

    private void reloadIfChanged() {
        long now = System.nanoTime();
        if (now - checkedAt < RECHECK_NANOS) {
            return;
        }
        synchronized (this) {
            if (now - checkedAt < RECHECK_NANOS) {
                return;
            }
            checkedAt = now;
            try {
                FileTime t = Files.getLastModifiedTime(file);
                if (!t.equals(loadedAt)) {
                    entries = parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
                    loadedAt = t;
                    LOG.info("API tokens: reloaded {} ({} tokens)", file, entries.size());
                }
            } catch (IOException | IllegalArgumentException e) {
                LOG.warn("API tokens: cannot reload {}, keeping the {} tokens read before: {}", file, entries.size(),
                        e.getMessage());
                loadedAt = null;
            }
        }
    }

    /** Parses the file's text; never puts a token into an error message (only its line number). */
    static List<Entry> parse(String text, String where) {
        List<Entry> out = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] w = line.split("\\s+");
            if (w.length < 2 || w.length > 3) {
                throw new IllegalArgumentException(where + " line " + (i + 1) + ": expected '<token> <scope> [name]' "
                        + "(scope: * or key prefixes separated by commas), got " + w.length + " fields");
            }
            if (w[0].length() < 16) {
                throw new IllegalArgumentException(where + " line " + (i + 1) + ": the token has " + w[0].length()
                        + " characters; at least 16 are required");
            }
            List<String> prefixes = null;
            if (!w[1].equals("*")) {
                prefixes = new ArrayList<>();
                for (String p : w[1].split(",")) {
                    if (p.isEmpty() || p.equals("*")) {
                        throw new IllegalArgumentException(where + " line " + (i + 1) + ": scope '" + w[1]
                                + "' has an empty prefix or a '*' among prefixes; give * alone or non-empty prefixes");
                    }
                    prefixes.add(p);
                }
                prefixes = List.copyOf(prefixes);
            }
            String name = w.length == 3 ? w[2] : "token on line " + (i + 1);
            out.add(new Entry(sha256(w[0]), new Grant(name, prefixes)));
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(where + ": no token (every request would be refused)");
        }
        return List.copyOf(out);
    }

    static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
