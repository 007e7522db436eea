package org.hopestreams.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.hopestreams.deploy.K8sManifests.Doc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** k8s/ kustomizations: what they list exists, every manifest is listed, patches hit base objects. */
class KustomizationTest {
    static final Path K8S = K8sManifests.K8S;

    static List<Path> kustomizationDirs() throws IOException {
        return K8sManifests.yamlFiles(K8S).stream().filter(K8sManifests::isKustomization).map(Path::getParent).toList();
    }

    @Test
    void kustomizationsListExistingFilesAndEveryManifestIsListed() throws IOException {
        List<Path> dirs = kustomizationDirs();
        assertEquals(Set.of(K8S.resolve("base"), K8S.resolve("overlays/cpu"), K8S.resolve("overlays/gpu")),
                new HashSet<>(dirs), "kustomizations: base and the cpu and gpu overlays");
        Set<Path> listed = new HashSet<>();
        for (Path dir : dirs) {
            JsonNode k = K8sManifests.kustomization(dir);
            List<String> entries = new ArrayList<>(K8sManifests.resourcePaths(k));
            entries.addAll(K8sManifests.patchPaths(k));
            for (String e : entries) {
                Path p = dir.resolve(e).normalize();
                String where = K8S.relativize(dir) + "/kustomization.yaml lists " + e;
                assertTrue(Files.isRegularFile(p) || Files.isRegularFile(p.resolve("kustomization.yaml")),
                        where + ": no such file or kustomization directory");
                assertTrue(p.startsWith(K8S), where + ": outside k8s/");
                listed.add(p);
            }
        }
        List<String> unlisted = new ArrayList<>();
        for (Path f : K8sManifests.yamlFiles(K8S)) {
            if (!K8sManifests.isKustomization(f) && !listed.contains(f)) {
                unlisted.add(K8S.relativize(f).toString());
            }
        }
        assertTrue(unlisted.isEmpty(), "manifests no kustomization lists: " + unlisted);
    }

    @Test
    void overlaysBuildOnTheBaseAndPatchObjectsItHas() throws IOException {
        List<Doc> base = K8sManifests.resourcesOf(K8S.resolve("base"));
        Set<String> baseObjects = new HashSet<>();
        base.forEach(d -> baseObjects.add(d.kind() + "/" + d.name()));
        for (String overlay : List.of("cpu", "gpu")) {
            Path dir = K8S.resolve("overlays").resolve(overlay);
            JsonNode k = K8sManifests.kustomization(dir);
            List<String> resources = new ArrayList<>();
            K8sManifests.resourcePaths(k).forEach(r -> resources.add(dir.resolve(r).normalize().toString()));
            assertEquals(List.of(K8S.resolve("base").toString()), resources, overlay + ": resources/bases = the base");
            List<String> patches = K8sManifests.patchPaths(k);
            assertTrue(!patches.isEmpty(), overlay + ": patches");
            for (String p : patches) {
                for (Doc d : K8sManifests.parse(dir.resolve(p))) {
                    assertTrue(baseObjects.contains(d.kind() + "/" + d.name()), overlay + "/" + p + " patches "
                            + d.kind() + "/" + d.name() + ", which the base does not have: " + baseObjects);
                }
            }
        }
    }

    /**
     * The kustomizations keep to what both kustomize v2.0.3 (Debian bookworm's kubectl 1.20, which CI installs) and
     * kustomize v5 read: directories under {@code bases}, only files under {@code resources}, patches as file paths
     * under {@code patchesStrategicMerge} (v2.0 fails on {@code patches:} entries with "cannot unmarshal object into
     * ... patchesStrategicMerge" and on a directory in {@code resources}).
     */
    @Test
    void kustomizationsUseFieldsOldAndNewKustomizeRead() throws IOException {
        Set<String> allowed = Set.of("apiVersion", "kind", "resources", "bases", "images", "patchesStrategicMerge");
        for (Path dir : kustomizationDirs()) {
            JsonNode k = K8sManifests.kustomization(dir);
            String where = K8S.relativize(dir) + "/kustomization.yaml";
            k.fieldNames().forEachRemaining(f -> assertTrue(allowed.contains(f), where + ": field " + f
                    + " (kustomize v2.0.3 and v5 both read only " + allowed + " here)"));
            k.path("resources").forEach(r -> assertTrue(Files.isRegularFile(dir.resolve(r.asText())),
                    where + ": resources entry " + r.asText() + " is not a file (a base goes under bases:)"));
            k.path("patchesStrategicMerge").forEach(p -> assertTrue(p.isTextual()
                    && Files.isRegularFile(dir.resolve(p.asText())), where + ": patchesStrategicMerge entry " + p
                    + " is not a file path"));
        }
    }

    /** The image an overlay gives a base container image (kustomize's images transformer: newName, newTag). */
    static String overlayImage(String overlay, String baseImage) throws IOException {
        JsonNode k = K8sManifests.kustomization(K8S.resolve("overlays").resolve(overlay));
        int colon = baseImage.lastIndexOf(':');
        String name = colon < 0 ? baseImage : baseImage.substring(0, colon);
        String tag = colon < 0 ? null : baseImage.substring(colon + 1);
        for (JsonNode i : k.path("images")) {
            if (i.path("name").asText().equals(name)) {
                name = i.has("newName") ? i.get("newName").asText() : name;
                tag = i.has("newTag") ? i.get("newTag").asText() : tag;
            }
        }
        return tag == null ? name : name + ":" + tag;
    }

    /**
     * Where kubectl is installed: {@code kubectl kustomize} renders each overlay, and the rendered StatefulSet carries
     * the overlay's image, device and resources (skipped without kubectl).
     */
    @Test
    void kubectlKustomizeRendersBothOverlays() throws Exception {
        for (String overlay : List.of("cpu", "gpu")) {
            String yaml = kustomize(K8S.resolve("overlays").resolve(overlay));
            Path out = Files.createTempFile("kustomize-" + overlay, ".yaml");
            try {
                Files.writeString(out, yaml);
                List<Doc> docs = K8sManifests.parse(out);
                StatefulSet sts = K8sManifests.one(docs, StatefulSet.class, KubernetesManifestsTest.APP);
                Container c = KubernetesManifestsTest.appContainer(sts.getSpec().getTemplate());
                assertEquals("hope-streams:" + overlay, c.getImage(), overlay + ": image");
                assertEquals(List.of(overlay), c.getEnv().stream().filter(e -> e.getName().equals("HOPE_DEVICE"))
                        .map(e -> e.getValue()).toList(), overlay + ": HOPE_DEVICE");
                assertEquals(overlay.equals("gpu"), c.getResources().getLimits().containsKey("nvidia.com/gpu"),
                        overlay + ": GPU limit");
                if (overlay.equals("gpu")) {
                    assertEquals(new Quantity("1"), c.getResources().getLimits().get("nvidia.com/gpu"));
                }
                // the base's env (downward API, application.server) survives the patch's env
                assertTrue(c.getEnv().stream().anyMatch(e -> e.getName().equals("STREAMS_APPLICATION_SERVER")),
                        overlay + ": STREAMS_APPLICATION_SERVER kept");
                assertEquals(K8sManifests.resourcesOf(K8S.resolve("base")).size(), docs.size(),
                        overlay + ": every base object rendered");
            } finally {
                Files.deleteIfExists(out);
            }
        }
    }

    static String kustomize(Path dir) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder("kubectl", "kustomize", dir.toString()).redirectErrorStream(false).start();
        } catch (IOException e) {
            org.hopestreams.RequiredTools.assumeInstalled(org.hopestreams.RequiredTools.KUBECTL, false,
                    "kubectl is not installed: " + e.getMessage());
            throw e;
        }
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "kubectl kustomize timed out");
        assertEquals(0, p.exitValue(), "kubectl kustomize " + dir + ": " + err);
        return new String(out, StandardCharsets.UTF_8);
    }
}
