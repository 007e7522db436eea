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

    /** {@code --no-sweep}: only the variants named run, no single-frequency rate, and the report still comes out. */
    @Test
    void noSweepRunsOnlyTheNamedVariants(@TempDir Path dir) throws Exception {
        EvalTexts.write(dir, "a.txt", "b.txt", "n.txt");
        Path out = dir.resolve("out");
        StringWriter err = new StringWriter();
        var cl = HopeCli.commandLine();
        cl.setErr(new PrintWriter(err, true));
        int rc = cl.execute("eval", "--quick", "--no-sweep", "--variants", "ppm", "--seeds", "1", "--pretrain-steps", "2",
                "--out", out.toString(), "--domains", dir.resolve("a.txt") + "," + dir.resolve("b.txt"),
                "--pretrain-text", dir.resolve("n.txt").toString());
        assertEquals(0, rc, err.toString());
        String report = Files.readString(out.resolve("report.md"));
        assertTrue(report.contains("`ppm`"), report);
        assertFalse(report.contains("single-"), "no single-frequency rate ran: " + report);
    }

    /** A misspelt variant is refused before any work, naming the variants there are (it used to run nothing). */
    @Test
    void anUnknownVariantIsRefusedWithTheList(@TempDir Path dir) throws Exception {
        for (String name : new String[] {"a.txt", "n.txt"}) {
            Files.writeString(dir.resolve(name), "some text. ".repeat(100));
        }
        StringWriter err = new StringWriter();
        var cl = HopeCli.commandLine();
        cl.setErr(new PrintWriter(err, true));
        Path out = dir.resolve("out");
        int rc = cl.execute("eval", "--quick", "--variants", "hope+ctx,hope+cxt", "--out", out.toString(),
                "--domains", dir.resolve("a.txt").toString(), "--pretrain-text", dir.resolve("n.txt").toString());
        assertEquals(2, rc, err.toString());
        assertTrue(err.toString().contains("no variant named hope+cxt"), err.toString());
        assertTrue(err.toString().contains("hope+ctx+anchor") && err.toString().contains("hope+ticks2"), err.toString());
        assertFalse(Files.exists(out.resolve("report.md")), "nothing run");
    }

    @Test
    void evalIsACommand() {
        assertTrue(HopeCli.commandLine().getSubcommands().containsKey("eval"));
    }
}
