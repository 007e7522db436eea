package org.hopestreams.cli;

import org.hopestreams.context.ContextModel;
import org.hopestreams.context.History;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code hope ppm --text FILE}: the classical baseline alone, for calibration. Codes the file with
 * the exact-context model (PPM, order 6 by default) prequentially and prints the ideal code length,
 * to set beside {@code 7z a -m0=PPMd:o=6} on the same bytes (docs/eval.md). Example:
 * <pre>
 *   $ java -jar target/hope-streams.jar ppm --text data/corpora/kjv.txt --max-bytes 300000
 *   ppm: 300,000 bytes, orders [1, 2, 3, 4, 5, 6]: 508,084 bits = 63,511 bytes, 1.6936 bits per byte, 127,210 contexts
 * </pre>
 */
@Command(name = "ppm", mixinStandardHelpOptions = true,
        description = "Code a file with the classical PPM baseline (no network) and print its code length.")
final class PpmCommand implements Callable<Integer> {
    @Option(names = "--text", required = true, paramLabel = "FILE", description = "Text to code.")
    Path text;

    @Option(names = "--orders", defaultValue = "1,2,3,4,5,6", split = ",",
            description = "Context orders besides 0 (default: ${DEFAULT-VALUE}, as 7z's PPMd o=6).")
    int[] orders;

    @Option(names = "--max-bytes", defaultValue = "0", description = "Code only the first N bytes (0: all).")
    long maxBytes;

    @Option(names = "--max-contexts", defaultValue = "16777216",
            description = "Bound on contexts; the model starts again empty beyond (default: ${DEFAULT-VALUE}).")
    int maxContexts;

    @Option(names = "--overflow", defaultValue = "prune",
            description = "What the model does when full: prune or clear (default: ${DEFAULT-VALUE}).")
    String overflow;

    @Override
    public Integer call() throws Exception {
        byte[] bytes = Files.readAllBytes(text);
        if (maxBytes > 0 && bytes.length > maxBytes) {
            bytes = Arrays.copyOf(bytes, (int) maxBytes);
        }
        if (bytes.length == 0) {
            throw new IllegalArgumentException(text + " is empty: nothing to code");
        }
        ContextModel m = new ContextModel(orders, maxContexts).overflow(ContextModel.Overflow.parse(overflow));
        double bits = m.learn(new History(), bytes);
        System.out.printf(Locale.ROOT, "ppm: %,d bytes, orders %s: %,.0f bits = %,d bytes, %.4f bits per byte, %,d contexts%s%n",
                bytes.length, Arrays.toString(orders), bits, (long) Math.ceil(bits / 8), bits / bytes.length, m.size(),
                m.restarts() > 0 ? ", full " + m.restarts() + " times (" + overflow + ")" : "");
        return 0;
    }
}
