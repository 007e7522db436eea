package org.hopestreams.cli;

import org.hopestreams.learn.InMemoryFastStateStore;
import org.hopestreams.learn.Learner;
import org.hopestreams.learn.LearnerSnapshots;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code hope complete --from CKPT --prompt TEXT}: what the model predicts after a prompt. */
@Command(name = "complete", mixinStandardHelpOptions = true,
        description = "Show the model's continuation of a prompt (greedy, or sampled with a temperature).")
final class CompleteCommand implements Callable<Integer> {
    @Option(names = "--from", required = true, paramLabel = "CKPT", description = "Checkpoint to read.")
    Path from;

    @Option(names = "--prompt", required = true, description = "Text to continue.")
    String prompt;

    @Option(names = "--key", defaultValue = "text", description = "Whose fast memory to read (default: ${DEFAULT-VALUE}).")
    String key;

    @Option(names = "--max-bytes", defaultValue = "120", description = "Bytes to generate (default: ${DEFAULT-VALUE}).")
    int maxBytes;

    @Option(names = "--temperature", defaultValue = "0", description = "0: greedy; above 0: sampled (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    EngineOptions engine;

    @Override
    public Integer call() throws Exception {
        InMemoryFastStateStore fast = new InMemoryFastStateStore();
        try (Learner learner = LearnerSnapshots.load(from, fast, engine.apply())) {
            boolean known = fast.get(key) != null;
            byte[] p = prompt.getBytes(StandardCharsets.UTF_8);
            byte[] cont = learner.complete(key, p, maxBytes, temperature, seed);
            System.out.println(prompt + printable(cont));
            System.out.printf("(key '%s'%s, model version %d, prompt %.3f bits/byte)%n", key,
                    known ? "" : " unknown: read from the initial memory", learner.modelVersion(), learner.score(key, p));
        }
        return 0;
    }

    /** UTF-8 where it decodes; other bytes as \xNN, so a terminal never gets control codes. */
    static String printable(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        String s = new String(bytes, StandardCharsets.UTF_8);
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch == '\n' || ch == '\t' || (ch >= 0x20 && ch != 0x7f && ch != '\uFFFD')) {
                sb.append(ch);
            } else {
                sb.append(String.format("\\x%02x", (int) ch & 0xff));
            }
        }
        return sb.toString();
    }
}
