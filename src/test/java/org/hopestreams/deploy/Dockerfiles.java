package org.hopestreams.deploy;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A line-based Dockerfile reader: comments and blank lines dropped, backslash continuations joined, each instruction
 * split into its keyword and arguments, and instructions grouped by build stage (FROM starts one).
 */
final class Dockerfiles {
    record Instruction(String keyword, String args, int line) {
    }

    record Stage(String from, String name, List<Instruction> instructions) {
        List<Instruction> all(String keyword) {
            return instructions.stream().filter(i -> i.keyword().equals(keyword)).toList();
        }

        /** ENV: the variables it sets, in both forms (KEY=VALUE ... and the legacy KEY VALUE). */
        Map<String, String> env() {
            Map<String, String> m = new LinkedHashMap<>();
            for (Instruction i : all("ENV")) {
                String a = i.args().trim();
                if (!a.contains("=") || a.indexOf(' ') >= 0 && a.indexOf(' ') < a.indexOf('=')) {
                    int sp = a.indexOf(' ');
                    m.put(a.substring(0, sp), a.substring(sp + 1).trim());
                } else {
                    for (String kv : a.split("\\s+")) {
                        int eq = kv.indexOf('=');
                        m.put(kv.substring(0, eq), unquote(kv.substring(eq + 1)));
                    }
                }
            }
            return m;
        }
    }

    private Dockerfiles() {
    }

    static String unquote(String s) {
        return s.length() >= 2 && (s.startsWith("\"") && s.endsWith("\"") || s.startsWith("'") && s.endsWith("'"))
                ? s.substring(1, s.length() - 1) : s;
    }

    static List<Instruction> instructions(Path file) {
        List<Instruction> out = new ArrayList<>();
        String[] lines = DeployContract.read(file).split("\n", -1);
        StringBuilder cur = null;
        int start = 0;
        for (int n = 0; n < lines.length; n++) {
            String line = lines[n].strip();
            if (line.startsWith("#") || line.isEmpty() && cur == null) {
                continue; // comments (parser directives too) and blank lines, also inside continuations
            }
            if (cur == null) {
                cur = new StringBuilder();
                start = n + 1;
            }
            if (line.endsWith("\\")) {
                cur.append(line, 0, line.length() - 1).append(' ');
                continue;
            }
            cur.append(line);
            String s = cur.toString().strip();
            cur = null;
            if (s.isEmpty()) {
                continue;
            }
            int sp = s.indexOf(' ');
            out.add(new Instruction(s.substring(0, sp < 0 ? s.length() : sp).toUpperCase(Locale.ROOT),
                    sp < 0 ? "" : s.substring(sp + 1).strip(), start));
        }
        assertTrue(cur == null, file + ": a continuation runs past the end");
        return out;
    }

    static List<Stage> stages(Path file) {
        List<Stage> stages = new ArrayList<>();
        for (Instruction i : instructions(file)) {
            if (i.keyword().equals("FROM")) {
                String[] w = i.args().split("\\s+");
                String name = w.length == 3 && w[1].equalsIgnoreCase("AS") ? w[2] : null;
                stages.add(new Stage(w[0], name, new ArrayList<>()));
            } else {
                assertTrue(!stages.isEmpty() || i.keyword().equals("ARG"), file + ":" + i.line() + ": before FROM");
                if (!stages.isEmpty()) {
                    stages.get(stages.size() - 1).instructions().add(i);
                }
            }
        }
        return stages;
    }

    /** The exec form (a JSON array) of CMD / ENTRYPOINT / VOLUME; the shell form is refused. */
    static List<String> execForm(Instruction i) {
        JsonNode n;
        try {
            n = DeployContract.YAML.readTree(i.args()); // JSON is YAML
        } catch (Exception e) {
            throw new AssertionError(i.keyword() + " at line " + i.line() + " is not an exec-form JSON array", e);
        }
        assertTrue(n != null && n.isArray(), i.keyword() + " at line " + i.line() + ": exec form (a JSON array)");
        List<String> out = new ArrayList<>();
        n.forEach(e -> out.add(e.asText()));
        return out;
    }
}
