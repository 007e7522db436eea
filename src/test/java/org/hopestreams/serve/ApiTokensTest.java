package org.hopestreams.serve;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tokens file format, scopes, and the forward allowlist's patterns (no server). */
class ApiTokensTest {
    @TempDir
    Path dir;

    @Test
    void tokensFileGivesScopesAndRefusesUnknownTokens() throws Exception {
        Path f = dir.resolve("tokens");
        Files.writeString(f, "# comment\n\nall-0123456789abcdef *\nsome-0123456789abcdef user/,team-a/ portal\n");
        ApiTokens t = ApiTokens.load(f);
        assertEquals(2, t.size());
        ApiTokens.Grant all = t.authenticate("all-0123456789abcdef").orElseThrow();
        assertTrue(all.allKeys() && all.allows("anything"));
        assertEquals("token on line 3", all.name());
        ApiTokens.Grant some = t.authenticate("some-0123456789abcdef").orElseThrow();
        assertEquals("portal", some.name());
        assertTrue(some.allows("user/1") && some.allows("team-a/x"));
        assertFalse(some.allows("team-b/x") || some.allows("admin") || some.allKeys());
        assertTrue(t.authenticate("some-0123456789abcde").isEmpty(), "a prefix of a token is not the token");
        assertTrue(t.authenticate("").isEmpty());
    }

    @Test
    void badFilesAreRefusedWithoutShowingTheToken() {
        for (String bad : List.of("lonely-0123456789abcdef\n", "short * x\n", "tok-0123456789abcdef user/,,x\n",
                "tok-0123456789abcdef *,user/\n", "# only comments\n", "a-0123456789abcdef * name extra\n")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ApiTokens.parse(bad, "f"));
            assertFalse(e.getMessage().contains("0123456789abcdef"), e.getMessage());
        }
    }

    @Test
    void forwardAllowlistMatchesHostsAndDomains() {
        ForwardPolicy p = new ForwardPolicy(List.of("*.hope-streams-headless.ns.svc", "127.0.0.1"));
        assertTrue(p.allows("hope-streams-1.hope-streams-headless.ns.svc"));
        assertTrue(p.allows("HOPE-STREAMS-1.hope-streams-headless.ns.svc."));
        assertTrue(p.allows("127.0.0.1"));
        assertFalse(p.allows("hope-streams-headless.ns.svc"), "the domain itself is not under it");
        assertFalse(p.allows("evil.example"));
        assertFalse(p.allows("x.hope-streams-headless.ns.svc.evil.example"));
        assertFalse(p.allows("127.0.0.10"));
        assertThrows(IllegalArgumentException.class, () -> new ForwardPolicy(List.of("evil*")));
    }
}
