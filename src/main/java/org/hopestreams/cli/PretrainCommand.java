package org.hopestreams.cli;

import me.tongfei.progressbar.ProgressBar;
import org.hopestreams.context.ContextLevel;
import org.hopestreams.learn.LearnerConfig;
import org.hopestreams.learn.LearnerSnapshots;
import org.hopestreams.learn.Pretrainer;
import org.hopestreams.store.StateCodec;
import org.hopestreams.store.StateSnapshot;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code hope pretrain --text FILE --steps N --out CKPT}: minibatch training of every parameter. */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = "Ordinary minibatch training of every parameter; writes a checkpoint the streaming learner starts from.")
final class PretrainCommand implements Callable<Integer> {
    @Option(names = "--text", required = true, split = ",", paramLabel = "FILE", description = "Corpus files (comma-separated or repeated).")
    List<Path> text;

    @Option(names = "--steps", required = true, description = "Optimizer steps.")
    int steps;

    @Option(names = "--out", required = true, paramLabel = "CKPT", description = "Checkpoint to write.")
    Path out;

    @Option(names = "--batch", defaultValue = "16", description = "Windows per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--window", defaultValue = "256", description = "Bytes per window (default: ${DEFAULT-VALUE}).")
    int window;

    @Option(names = "--clip", defaultValue = "1.0", description = "Global gradient norm clip (default: ${DEFAULT-VALUE}).")
    double clip;

    @Option(names = "--context-prime-bytes", paramLabel = "N",
            description = "Bytes of the corpus (from its start) that the exact-context level's global model counts, its "
                    + "pretraining; counting stops when the model holds half its bound of contexts (default: the whole "
                    + "corpus up to that; 0: the level starts empty, as before).")
    Integer contextPrimeBytes;

    @Mixin
    ModelOptions model;

    @Mixin
    EngineOptions engine;

    @Override
    public Integer call() throws Exception {
        ByteArrayOutputStream corpus = new ByteArrayOutputStream();
        for (Path p : text) {
            corpus.write(Files.readAllBytes(p));
        }
        byte[] bytes = corpus.toByteArray();
        Pretrainer.Settings s = new Pretrainer.Settings(steps, batch, window, model.lr, clip, model.seed);
        try (ProgressBar bar = ProgressBars.create("pretrain", steps, " step", false)) {
            System.out.printf("pretraining preset %s on %,d bytes: %d steps of %d x %d bytes, peak lr %g%n",
                    model.hopeConfig().preset(), bytes.length, steps, batch, window, model.lr);
            double[] run = new double[2];
            long start = System.nanoTime();
            StateSnapshot pretrained = Pretrainer.pretrain(model.hopeConfig(), model.learnerConfig(), bytes, s,
                    engine.apply(), (step, bpb) -> {
                        bar.step();
                        run[0] += bpb;
                        run[1]++;
                        if (step % 50 == 0 || step == steps) {
                            System.out.printf("step %6d  %.4f bits/byte  %.1f s%n", step, run[0] / run[1],
                                    (System.nanoTime() - start) / 1e9);
                            run[0] = 0;
                            run[1] = 0;
                        }
                    });
            LearnerConfig lc = model.learnerConfig();
            if (lc.contextConfig().mode() != ContextLevel.Mode.OFF && (contextPrimeBytes == null || contextPrimeBytes > 0)) {
                pretrained = LearnerSnapshots.withPrimedContext(pretrained, lc, bytes,
                        contextPrimeBytes == null ? Integer.MAX_VALUE : contextPrimeBytes);
                System.out.printf("primed the exact-context level's global model with %,d bytes of the corpus%n",
                        Long.parseLong(pretrained.meta(LearnerSnapshots.PRIMED_BYTES)));
            }
            new StateCodec().writeFile(out, pretrained);
            System.out.printf("saved %s (a streaming learner continues at the final rate %g)%n", out,
                    Pretrainer.rate(s, steps - 1));
        }
        return 0;
    }
}
