package org.hopestreams.learn;

import org.hopestreams.model.HopeConfig;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Pretraining documents (issue 10, lever 1, "a memory trained to be used"): a span of the corpus,
 * and, in a share of them, content that only a memory can predict: a statement "SUBJECT is CODE. "
 * written early and again later (SUBJECT a made-up name with a noun, CODE random letters and
 * digits), or a span of the document's own text repeated later. The loss is taken on every byte as
 * usual, so the restated code is where remembering pays. The names, nouns and code lengths are
 * varied and drawn from their own alphabet, not the evaluation's probes, so that what is learned is
 * recall, not a template.
 */
final class RecallText {
    private static final String[] NOUNS = {"code", "key", "number", "password", "pin", "id", "token", "name",
            "word", "passkey", "tag", "serial"};
    private static final String CONSONANTS = "bcdfghjklmnprstvwz";
    private static final String VOWELS = "aeiou";
    private static final String CODE = "abcdefghijklmnopqrstuvwxyz0123456789";

    private RecallText() {
    }

    /**
     * A document of {@code length} bytes as ids: element 0 is the byte before it (START where the
     * span starts the corpus, and in one document in 16, so that START is trained), elements
     * 1..length the bytes. With {@code recall} false the random numbers drawn are exactly those of
     * the windows pretraining took before this class (a start, then maybe the 1-in-16 draw).
     */
    static int[] document(byte[] corpus, int length, boolean recall, SplittableRandom rnd) {
        int start = rnd.nextInt(corpus.length - length + 1);
        boolean fromStart = start == 0 || rnd.nextInt(16) == 0;
        int[] doc = new int[length + 1];
        doc[0] = fromStart ? HopeConfig.START : corpus[start - 1] & 0xff;
        for (int i = 0; i < length; i++) {
            doc[i + 1] = corpus[start + i] & 0xff;
        }
        if (recall) {
            addRecall(doc, rnd);
        }
        return doc;
    }

    /**
     * Writes recall items over the document's bytes: one per 512 bytes (at least one), each inside
     * its own slot of the document so that items do not overwrite each other; two in three are a
     * restated statement, one in three a repeated span of 8 to 32 bytes.
     */
    static void addRecall(int[] doc, SplittableRandom rnd) {
        int length = doc.length - 1;
        int items = Math.max(1, length / 512);
        int slot = length / items;
        for (int k = 0; k < items; k++) {
            int from = 1 + k * slot;
            if (rnd.nextInt(3) < 2) {
                byte[] statement = (subject(rnd) + " is " + code(rnd) + ". ").getBytes(StandardCharsets.US_ASCII);
                place(doc, from, slot, statement, statement, rnd);
            } else {
                int n = Math.min(8 + rnd.nextInt(25), slot / 3);
                if (n < 1) {
                    continue;
                }
                int at = from + rnd.nextInt(Math.max(1, slot / 2 - n));
                byte[] span = new byte[n];
                for (int i = 0; i < n; i++) {
                    span[i] = (byte) doc[at + i];
                }
                place(doc, at + n, slot - (at + n - from), null, span, rnd);
            }
        }
    }

    /**
     * Within {@code [from, from + slot)}: {@code first} (if any) at a random place in the slot's
     * first half, {@code again} at a random place after it, both starting after a space where the
     * text has one near.
     */
    private static void place(int[] doc, int from, int slot, byte[] first, byte[] again, SplittableRandom rnd) {
        int firstLen = first == null ? 0 : first.length;
        if (firstLen + again.length > slot) {
            return;
        }
        int a = from;
        if (first != null) {
            a = afterSpace(doc, from + rnd.nextInt(Math.max(1, slot / 2 - firstLen)), from + slot - firstLen - again.length);
            write(doc, a, first);
            a += firstLen;
        }
        int end = from + slot - again.length;
        int b = afterSpace(doc, a + rnd.nextInt(Math.max(1, end - a)), end);
        write(doc, b, again);
    }

    /** The first position after a space from {@code at} on (within 16 bytes, at most {@code limit}), else {@code at}. */
    private static int afterSpace(int[] doc, int at, int limit) {
        for (int i = at; i < Math.min(limit, at + 16); i++) {
            if (i > 0 && doc[i - 1] == ' ') {
                return i;
            }
        }
        return Math.min(at, limit);
    }

    private static void write(int[] doc, int at, byte[] bytes) {
        for (int i = 0; i < bytes.length; i++) {
            doc[at + i] = bytes[i] & 0xff;
        }
    }

    private static String subject(SplittableRandom rnd) {
        String name = name(rnd);
        String noun = NOUNS[rnd.nextInt(NOUNS.length)];
        return switch (rnd.nextInt(3)) {
            case 0 -> "the " + noun + " of " + name;
            case 1 -> name + "'s " + noun;
            default -> "the " + name + " " + noun;
        };
    }

    private static String name(SplittableRandom rnd) {
        StringBuilder b = new StringBuilder();
        int syllables = 2 + rnd.nextInt(2);
        for (int i = 0; i < syllables; i++) {
            b.append(CONSONANTS.charAt(rnd.nextInt(CONSONANTS.length()))).append(VOWELS.charAt(rnd.nextInt(VOWELS.length())));
        }
        return b.toString();
    }

    private static String code(SplittableRandom rnd) {
        StringBuilder b = new StringBuilder();
        int n = 4 + rnd.nextInt(5);
        for (int i = 0; i < n; i++) {
            b.append(CODE.charAt(rnd.nextInt(CODE.length())));
        }
        return b.toString();
    }
}
