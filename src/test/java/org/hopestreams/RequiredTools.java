package org.hopestreams;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Skips that are loud where a tool is expected. A test that needs something from its environment (a browser,
 * kubectl, a Docker engine, 7-Zip, the corpora) calls {@link #assumeInstalled}: where the tool is missing the test
 * is skipped with the message, unless the tool is listed in {@value #ENV} (environment variable) or
 * {@value #PROPERTY} (system property, e.g. {@code mvn -Dhope.require.tools=...}; wins over the variable when not
 * empty), comma-separated, e.g.
 * {@code HOPE_REQUIRE_TOOLS=chromium,kubectl,7z,corpora}: then it fails. {@code .ci/run} lists what it installs,
 * so that a CI image that lost a package fails instead of passing with fewer tests. {@code all} requires every tool.
 *
 * <p>Tool names: {@value #CHROMIUM}, {@value #KUBECTL}, {@value #DOCKER}, {@value #SEVEN_ZIP}, {@value #CORPORA}.
 */
public final class RequiredTools {
    public static final String ENV = "HOPE_REQUIRE_TOOLS";
    public static final String PROPERTY = "hope.require.tools";
    public static final String CHROMIUM = "chromium";
    public static final String KUBECTL = "kubectl";
    public static final String DOCKER = "docker";
    public static final String SEVEN_ZIP = "7z";
    public static final String CORPORA = "corpora";
    private static final Set<String> KNOWN = Set.of(CHROMIUM, KUBECTL, DOCKER, SEVEN_ZIP, CORPORA, "all");

    private RequiredTools() {
    }

    /** The tools required here: {@value #PROPERTY} if set, else {@value #ENV}, else none. */
    public static Set<String> required() {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) {   // the POM passes an empty property when -Dhope.require.tools is not given
            v = System.getenv(ENV);
        }
        return parse(v);
    }

    static Set<String> parse(String v) {
        if (v == null || v.isBlank()) {
            return Set.of();
        }
        Set<String> tools = Arrays.stream(v.split(",")).map(s -> s.trim().toLowerCase(Locale.ROOT))
                .filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
        for (String t : tools) {
            if (!KNOWN.contains(t)) {
                // a misspelt name would otherwise leave the tool optional without a word
                throw new IllegalArgumentException(ENV + " names an unknown tool '" + t + "'; known: " + KNOWN);
            }
        }
        return tools;
    }

    public static boolean isRequired(String tool) {
        Set<String> r = required();
        return r.contains(tool) || r.contains("all");
    }

    /**
     * Returns if {@code installed}; else fails when {@code tool} is required, and skips the test (a JUnit
     * assumption, reported as skipped with {@code why}) when it is not.
     */
    public static void assumeInstalled(String tool, boolean installed, String why) {
        if (installed) {
            return;
        }
        if (isRequired(tool)) {
            Assertions.fail(tool + " is required here (" + ENV + "=" + String.join(",", required()) + ") but: " + why);
        }
        Assumptions.assumeTrue(false, why + " (set " + ENV + "=" + tool + " to make this a failure)");
    }
}
