package org.hopestreams.stream;

import org.apache.kafka.common.utils.Bytes;
import org.hopestreams.model.HostTensor;
import org.hopestreams.store.StateCodec;
import org.hopestreams.store.StateFormatException;
import org.hopestreams.store.StateSnapshot;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A run's final model as its changelog topics hold it, and the differences between two runs: how the
 * crash and revival tests prove that a disturbed run ends with the uninterrupted run's model.
 */
final class StoreChangelogs {
    private StoreChangelogs() {
    }

    /**
     * A chunked store's committed content from its (one-partition) changelog: the latest value per key (null
     * deletes), chunks grouped by entry name (the key less its 4-byte index) and decoded. Names are given as text
     * where they are UTF-8 (groups, context keys), else in hex (checkpoint versions).
     */
    static Map<String, StateSnapshot> state(String bootstrap, String changelog) throws StateFormatException {
        Map<Integer, Map<String, StateSnapshot>> partitions = statesByPartition(bootstrap, changelog);
        assertTrue(partitions.size() <= 1, changelog + " has content in partitions " + partitions.keySet()
                + ": use statesByPartition");
        return partitions.isEmpty() ? new TreeMap<>() : partitions.values().iterator().next();
    }

    /** {@link #state} for each partition of the changelog that holds anything (one task's store per partition). */
    static Map<Integer, Map<String, StateSnapshot>> statesByPartition(String bootstrap, String changelog)
            throws StateFormatException {
        Map<Integer, Map<Bytes, byte[]>> latest = new TreeMap<>();
        for (var r : StreamTestSupport.readAllCommitted(bootstrap, changelog, Duration.ofSeconds(30))) {
            Map<Bytes, byte[]> p = latest.computeIfAbsent(r.partition(), x -> new HashMap<>());
            if (r.value() == null) {
                p.remove(Bytes.wrap(r.key()));
            } else {
                p.put(Bytes.wrap(r.key()), r.value());
            }
        }
        Map<Integer, Map<String, StateSnapshot>> out = new TreeMap<>();
        for (var e : latest.entrySet()) {
            out.put(e.getKey(), decode(changelog, e.getValue()));
        }
        return out;
    }

    private static Map<String, StateSnapshot> decode(String changelog, Map<Bytes, byte[]> latest)
            throws StateFormatException {
        Map<Bytes, TreeMap<Integer, byte[]>> chunks = new HashMap<>();
        Map<String, StateSnapshot> out = new TreeMap<>();
        latest.forEach((k, v) -> {
            byte[] key = k.get();
            if (key.length > 0 && key[0] == (byte) 0xFF) {
                // a key's last-seen stream time (KvFastStateStore, for hope.keys.ttl.ms): compared as a counter
                out.put("last-seen " + displayName(Arrays.copyOfRange(key, 1, key.length)),
                        StateSnapshot.builder().counter("streamTime", ByteBuffer.wrap(v).getLong()).build());
                return;
            }
            Bytes name = Bytes.wrap(Arrays.copyOf(key, key.length - 4));
            int index = ByteBuffer.wrap(key, key.length - 4, 4).getInt();
            chunks.computeIfAbsent(name, x -> new TreeMap<>()).put(index, v);
        });
        StateCodec codec = new StateCodec();
        for (var e : chunks.entrySet()) {
            byte[] first = e.getValue().get(0);
            assertTrue(first != null, changelog + ": entry without chunk 0");
            int n = StateCodec.chunkCount(first);
            List<byte[]> parts = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                byte[] c = e.getValue().get(i);
                assertTrue(c != null, changelog + ": missing chunk " + i);
                parts.add(c);
            }
            out.put(displayName(e.getKey().get()), codec.decode(parts));
        }
        return out;
    }

    private static String displayName(byte[] name) {
        String s = new String(name, StandardCharsets.UTF_8);
        boolean printable = s.chars().allMatch(ch -> ch >= 0x20 && ch < 0x7f);
        return printable ? s : "0x" + Bytes.wrap(name);
    }

    /** Empty if every entry is equal (bit-exact); else each difference, tensors with their largest errors. */
    static String differences(Map<String, StateSnapshot> expected, Map<String, StateSnapshot> actual) {
        return differences(expected, actual, 0);
    }

    /**
     * As {@link #differences(Map, Map)}, float tensors counting as equal when every value is within
     * {@code tolerance} (absolute; 0: bit for bit). Other tensors (encoded context models) stay exact.
     */
    static String differences(Map<String, StateSnapshot> expected, Map<String, StateSnapshot> actual,
                              double tolerance) {
        StringBuilder sb = new StringBuilder();
        for (var e : expected.entrySet()) {
            StateSnapshot a = actual.get(e.getKey());
            StateSnapshot x = e.getValue();
            if (x.equals(a)) {
                continue;
            }
            if (!x.meta().equals(a.meta())) {
                sb.append(e.getKey()).append(": meta ").append(x.meta()).append(" vs ").append(a.meta()).append('\n');
            }
            if (!x.counters().equals(a.counters())) {
                sb.append(e.getKey()).append(": counters ").append(x.counters()).append(" vs ").append(a.counters())
                        .append('\n');
            }
            if (!List.copyOf(x.tensors().keySet()).equals(List.copyOf(a.tensors().keySet()))) {
                sb.append(e.getKey()).append(": tensors ").append(x.tensors().keySet()).append(" vs ")
                        .append(a.tensors().keySet()).append('\n');
            }
            x.tensors().forEach((t, xt) -> {
                HostTensor at = a.tensors().get(t);
                if (at != null && !xt.equals(at) && !within(xt, at, tolerance)) {
                    sb.append(e.getKey()).append('.').append(t).append(": ").append(tensorDiff(xt, at)).append('\n');
                }
            });
            if (sb.isEmpty() && tolerance == 0) {
                sb.append(e.getKey()).append(": entry order differs\n");
            }
        }
        return sb.toString();
    }

    private static boolean within(HostTensor x, HostTensor a, double tolerance) {
        if (tolerance == 0 || x.type() == HostTensor.Type.UINT8 || !Arrays.equals(x.shape(), a.shape())
                || x.type() != a.type()) {
            return false;
        }
        double[] xv = x.toDoubles();
        double[] av = a.toDoubles();
        for (int i = 0; i < xv.length; i++) {
            if (!(Math.abs(xv[i] - av[i]) <= tolerance)) {
                return false;
            }
        }
        return true;
    }

    private static String tensorDiff(HostTensor x, HostTensor a) {
        if (!Arrays.equals(x.shape(), a.shape()) || x.type() != a.type()) {
            return x + " vs " + a;
        }
        double[] xv = x.toDoubles();
        double[] av = a.toDoubles();
        double maxAbs = 0;
        double maxRel = 0;
        int differing = 0;
        for (int i = 0; i < xv.length; i++) {
            double d = Math.abs(xv[i] - av[i]);
            if (d > 0 || Double.doubleToRawLongBits(xv[i]) != Double.doubleToRawLongBits(av[i])) {
                differing++;
            }
            maxAbs = Math.max(maxAbs, d);
            maxRel = Math.max(maxRel, d / Math.max(Math.abs(xv[i]), 1e-12));
        }
        return differing + " of " + xv.length + " values differ, max abs " + maxAbs + ", max rel " + maxRel;
    }
}
