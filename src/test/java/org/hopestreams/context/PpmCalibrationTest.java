package org.hopestreams.context;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The classical baseline is a real PPM: on the same bytes its ideal code length comes within a few
 * percent of 7-Zip's PPMd (variant H, order 6), the reference compressor (Debian p7zip-full; .ci/run
 * installs it, and the corpora come from scripts/fetch-corpora.sh).
 */
class PpmCalibrationTest {
    private static final Path SEVEN_ZIP = Path.of("/usr/bin/7z");
    private static final int BYTES = 300_000;

    @Test
    void orderSixCodesWithinSixPercentOf7zPpmd(@TempDir Path dir) throws Exception {
        for (String corpus : new String[] {"kjv", "brown-fiction"}) {
            Path text = Path.of("data/corpora", corpus + ".txt");
            org.hopestreams.RequiredTools.assumeInstalled(org.hopestreams.RequiredTools.SEVEN_ZIP,
                    Files.isExecutable(SEVEN_ZIP), "needs " + SEVEN_ZIP + " (apt-get install p7zip-full)");
            org.hopestreams.RequiredTools.assumeInstalled(org.hopestreams.RequiredTools.CORPORA, Files.isReadable(text),
                    "needs the corpora, " + text + " (scripts/fetch-corpora.sh --install)");
            byte[] bytes = Arrays.copyOf(Files.readAllBytes(text), BYTES);
            Path in = dir.resolve(corpus + ".txt");
            Files.write(in, bytes);
            Path archive = dir.resolve(corpus + ".7z");
            Process p = new ProcessBuilder(SEVEN_ZIP.toString(), "a", "-m0=PPMd:o=6", archive.toString(), in.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("7z.log").toFile()).start();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), Files.readString(dir.resolve("7z.log")));
            // The archive's headers and the coder's end are a few hundred bytes at most: count them against 7z.
            long sevenZip = Files.size(archive);
            double ours = new ContextModel(ContextModel.ordersUpTo(6), 1 << 24).learn(new History(), bytes) / 8;
            double ratio = ours / sevenZip;
            System.out.printf("%s, %,d bytes: PPM order 6 %,.0f bytes, 7z PPMd o=6 %,d bytes, ratio %.4f%n", corpus,
                    BYTES, ours, sevenZip, ratio);
            assertTrue(ratio < 1.06, corpus + ": our PPM codes " + ours + " bytes, 7z's PPMd " + sevenZip + " bytes");
            assertTrue(ratio > 0.9, corpus + ": suspiciously better than PPMd: " + ratio);
        }
    }
}
