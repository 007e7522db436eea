import org.hopestreams.learn.*;
import org.hopestreams.eval.ContinualEval;
import java.nio.file.Path;
/** Ad-hoc passkey probe at short fillers: java -cp "target/hope-streams.jar:target/lib/*" scripts/PasskeyProbe.java CKPT */
public class PasskeyProbe {
    public static void main(String[] a) throws Exception {
        System.setProperty("ai.djl.pytorch.num_threads", "1");
        try (Learner l = LearnerSnapshots.load(Path.of(a[0]), new InMemoryFastStateStore(), ai.djl.Device.cpu())) {
            String[] fills = {"", "abc", "and it was so, and the ", "And God saw the light, that it was good: and God divided the light from the darkness."};
            for (String f : fills) {
                double g = 0;
                for (int t = 0; t < 6; t++) {
                    String code = "q" + (char) ('a' + t) + "7x" + t + "z", other = "m" + (char) ('k' + t) + "2p" + t + "w";
                    String tail = " " + f + " the passkey is ";
                    g += ContinualEval.answerBits(l, "k" + t, "the passkey is " + other + "." + tail, code)
                       - ContinualEval.answerBits(l, "k" + t, "the passkey is " + code + "." + tail, code);
                }
                System.out.printf("filler %3d bytes: mean gain %.5f bits%n", f.length(), g / 6);
            }
        }
    }
}
