package org.hopestreams.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code hope eval} without its texts stops before any work and says how to fetch them. */
class EvalCommandTest {
    @Test
    void missingCorporaSayHowToFetchThem(@TempDir Path dir) {
        StringWriter err = new StringWriter();
        var cl = HopeCli.commandLine();
        cl.setErr(new PrintWriter(err, true));
        Path out = dir.resolve("out");
        int rc = cl.execute("eval", "--quick", "--out", out.toString(), "--domains", dir.resolve("a.txt") + ","
                + dir.resolve("b.txt"), "--pretrain-text", dir.resolve("n.txt").toString());
        assertEquals(2, rc);
        assertTrue(err.toString().contains("scripts/fetch-corpora.sh --install"), err.toString());
        assertTrue(err.toString().contains("a.txt") && err.toString().contains("n.txt"), err.toString());
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void evalIsACommand() {
        assertTrue(HopeCli.commandLine().getSubcommands().containsKey("eval"));
    }
}
