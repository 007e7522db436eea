package org.hopestreams.serve;

import java.util.List;
import java.util.Locale;

/**
 * Where this instance may forward a key's query: the owner's {@code application.server} host must match
 * one of the allowed patterns ({@code hope.http.forward.allow}): a host name or address compared exactly,
 * or {@code *.domain}, any host under that domain (not the domain itself). The owner's address comes
 * from the consumer group's metadata, which any member of the group can set: without this check a rogue
 * member advertising its own address would receive queries, with this instance's credential on them.
 */
public final class ForwardPolicy {
    private final List<String> patterns;

    public ForwardPolicy(List<String> patterns) {
        this.patterns = patterns.stream().map(p -> p.strip().toLowerCase(Locale.ROOT)).filter(p -> !p.isEmpty())
                .toList();
        for (String p : this.patterns) {
            if (p.contains("*") && !(p.startsWith("*.") && p.indexOf('*', 1) < 0 && p.length() > 2)) {
                throw new IllegalArgumentException("hope.http.forward.allow: '" + p + "' is neither a host nor "
                        + "*.domain");
            }
        }
    }

    public boolean allows(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        for (String p : patterns) {
            if (p.startsWith("*.") ? h.endsWith(p.substring(1)) && h.length() > p.length() - 1 : h.equals(p)) {
                return true;
            }
        }
        return false;
    }

    public List<String> patterns() {
        return patterns;
    }
}
