package org.hopestreams.learn;

import ai.djl.Device;
import org.hopestreams.model.HopeConfig;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

class SmokeTest {
    @Test
    void learns() {
        for (String preset : new String[] {"tiny", "small"}) {
            HopeConfig c = HopeConfig.preset(preset);
            try (Learner l = Learner.create(c, LearnerConfig.defaults(), 1, new InMemoryFastStateStore(), Device.cpu())) {
                byte[] rec = "the quick brown fox jumps over the lazy dog. ".repeat(6).substring(0, 256).getBytes(StandardCharsets.UTF_8);
                long t0 = System.nanoTime();
                for (int i = 0; i < 40; i++) {
                    LearnOutcome o = l.learn("k", rec, i);
                    if (i % 8 == 0 || i == 39) System.out.println(preset + " " + i + " " + o.bitsPerByte() + " " + o.accepted() + " " + o.reason() + " " + java.util.Arrays.toString(o.surprise()));
                }
                double dt = (System.nanoTime() - t0) / 1e9;
                System.out.println(preset + " bytes/s " + 40 * 256 / dt);
                System.out.println(new String(l.complete("k", "the quick".getBytes(), 30, 0, 1), StandardCharsets.UTF_8));
            }
        }
    }
}
