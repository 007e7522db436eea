package org.hopestreams.cli;

import ai.djl.Device;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.embedded.DemoStream;
import org.hopestreams.learn.LearnerConfig;
import org.hopestreams.learn.LearnerSnapshots;
import org.hopestreams.learn.Pretrainer;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.store.StateCodec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The demo's starting checkpoint: the preset pretrained on log lines like the demo's (another seed,
 * no facts, so the facts stay news) and the exact-context level's global model primed with them, made at the first start and kept in the user's cache folder
 * ({@code $XDG_CACHE_HOME/hope-streams} or {@code ~/.cache/hope-streams}); nothing large is in git.
 */
final class DemoCheckpoint {
    private static final int CORPUS_EVENTS = 4000;
    private static final int BATCH = 8;
    private static final int WINDOW = 128;

    private DemoCheckpoint() {
    }

    static Path get(String preset, int steps) throws IOException {
        String base = System.getenv("XDG_CACHE_HOME");
        Path dir = base != null && !base.isBlank() ? Path.of(base, "hope-streams")
                : Path.of(System.getProperty("user.home"), ".cache", "hope-streams");
        Path file = dir.resolve(String.format(Locale.ROOT, "demo-%s-%d-steps-v2.ckpt", preset, steps));
        if (Files.isReadable(file)) {
            org.hopestreams.log.Logging.console().println("hope demo: starting from the pretrained checkpoint " + file);
            return file;
        }
        Files.createDirectories(dir);
        org.hopestreams.log.Logging.console().printf("hope demo: pretraining the %s model on generated log lines (%d steps, once; cached in %s)...%n",
                preset, steps, file);
        long t0 = System.nanoTime();
        Pretrainer.Settings s = new Pretrainer.Settings(steps, BATCH, WINDOW, 3e-3, 1.0, 1);
        double[] last = new double[1];
        byte[] corpus = corpus();
        // the network pretrained on the corpus, and the exact-context level's global model primed with it
        new StateCodec().writeFile(file, LearnerSnapshots.withPrimedContext(Pretrainer.pretrain(HopeConfig.preset(preset),
                LearnerConfig.defaults(), corpus, s, Device.cpu(), (step, bpb) -> last[0] = bpb), LearnerConfig.defaults(),
                corpus));
        org.hopestreams.log.Logging.console().printf(Locale.ROOT, "hope demo: pretrained in %.0f s, last batch %.2f bits per byte%n",
                (System.nanoTime() - t0) / 1e9, last[0]);
        return file;
    }

    /** Log lines of the demo's services, as the demo stream writes them, without its facts. */
    private static byte[] corpus() {
        DemoStream stream = new DemoStream(1_000_003);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long time = 1_700_000_000_000L;
        for (int written = 0; written < CORPUS_EVENTS; ) {
            TextEvent e = stream.next(time += 97);
            if (!DemoStream.FACTS_KEY.equals(e.getKey())) {
                out.writeBytes((e.getText() + "\n").getBytes(StandardCharsets.UTF_8));
                written++;
            }
        }
        return out.toByteArray();
    }
}
