package org.hopestreams.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** Small word-salad texts for {@code hope eval} runs in tests (domains and pretraining text), seeded. */
final class EvalTexts {

    private static final String[] WORDS =
            {"river", "stone", "the", "of", "and", "light", "north", "code", "window", "seven", "quiet", "field"};

    private EvalTexts() {
    }

    /** Writes 120,000 characters of text to each of {@code names} in {@code dir}, from one random stream (seed 7). */
    static void write(Path dir, String... names) throws IOException {
        Random rnd = new Random(7);
        for (String name : names) {
            StringBuilder b = new StringBuilder();
            while (b.length() < 120_000) {
                b.append(WORDS[rnd.nextInt(WORDS.length)]).append(rnd.nextInt(9) == 0 ? ".\n" : " ");
            }
            Files.writeString(dir.resolve(name), b);
        }
    }
}
