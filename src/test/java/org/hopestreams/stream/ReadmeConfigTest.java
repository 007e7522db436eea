package org.hopestreams.stream;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's streaming configuration table is the one the application enforces. */
class ReadmeConfigTest {
    @Test
    void readmeTableMatchesTheConfigDefinition() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        String start = "<!-- config-table:start -->\n";
        int a = readme.indexOf(start);
        int b = readme.indexOf("<!-- config-table:end -->");
        assertTrue(a >= 0 && b > a, "README.md has the config-table markers");
        assertEquals(HopeStreamsConfig.markdownTable(), readme.substring(a + start.length(), b),
                "README.md's table differs from HopeStreamsConfig.DEF: regenerate it from markdownTable()");
    }
}
