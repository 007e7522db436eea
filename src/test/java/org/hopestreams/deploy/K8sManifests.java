package org.hopestreams.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every YAML file under k8s/, every document of it, parsed: Kustomization files as Jackson trees, Kubernetes objects
 * into fabric8's model classes (Strimzi's custom resources as {@link GenericKubernetesResource}). YAML is read by
 * Jackson 2 (jackson-dataformat-yaml, the project's Jackson); fabric8 8.x binds its model with Jackson 3, so each
 * document goes to it as JSON. A field the model does not know (a typo such as {@code readinesProbe}) lands in the
 * model's additionalProperties, and {@link #assertNoUnknownFields} refuses it. Only read with {@link #JSON3}: Jackson
 * 3.2 runs here on jackson-annotations 2.21 (the project's jackson-bom), and its write paths need 2.22 (see pom.xml).
 */
final class K8sManifests {
    static final Path K8S = DeployContract.ROOT.resolve("k8s");
    private static final JsonMapper JSON3 = JsonMapper.builder().build();

    /** The Kubernetes (and Strimzi) kinds the manifests may use, by apiVersion/kind. */
    static final Map<String, Class<? extends HasMetadata>> KINDS = Map.of(
            "v1/ConfigMap", ConfigMap.class,
            "v1/Service", Service.class,
            "apps/v1/StatefulSet", StatefulSet.class,
            "apps/v1/Deployment", Deployment.class,
            "policy/v1/PodDisruptionBudget", PodDisruptionBudget.class,
            "kafka.strimzi.io/v1beta2/Kafka", GenericKubernetesResource.class,
            "kafka.strimzi.io/v1beta2/KafkaNodePool", GenericKubernetesResource.class,
            "kafka.strimzi.io/v1beta2/KafkaTopic", GenericKubernetesResource.class,
            "kafka.strimzi.io/v1beta2/KafkaUser", GenericKubernetesResource.class,
            // fabric8's networking model is not a dependency: checked as a tree (KubernetesManifestsTest)
            "networking.k8s.io/v1/NetworkPolicy", GenericKubernetesResource.class);

    static final String KUSTOMIZATION = "kustomize.config.k8s.io/v1beta1/Kustomization";

    /** One document of a manifest file. */
    record Doc(Path file, int index, JsonNode tree, HasMetadata model) {
        String where() {
            return DeployContract.ROOT.relativize(file) + (index > 0 ? " (document " + (index + 1) + ")" : "");
        }

        String kind() {
            return tree.path("kind").asText();
        }

        String name() {
            return tree.path("metadata").path("name").asText();
        }
    }

    private K8sManifests() {
    }

    static List<Path> yamlFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile)
                    .filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
                    .sorted().toList();
        }
    }

    static boolean isKustomization(Path p) {
        String n = p.getFileName().toString();
        return n.equals("kustomization.yaml") || n.equals("kustomization.yml") || n.equals("Kustomization");
    }

    /** The documents of one file, Kubernetes objects parsed into the model (fails on an unknown kind). */
    static List<Doc> parse(Path file) throws IOException {
        List<Doc> out = new ArrayList<>();
        List<JsonNode> trees = DeployContract.yamlDocuments(file);
        assertTrue(!trees.isEmpty(), file + ": no YAML document");
        for (int i = 0; i < trees.size(); i++) {
            JsonNode t = trees.get(i);
            String where = DeployContract.ROOT.relativize(file) + " document " + (i + 1);
            String type = t.path("apiVersion").asText() + "/" + t.path("kind").asText();
            if (type.equals(KUSTOMIZATION)) {
                out.add(new Doc(file, i, t, null));
                continue;
            }
            Class<? extends HasMetadata> cls = KINDS.get(type);
            assertNotNull(cls, where + ": apiVersion/kind " + type + " is not one of " + KINDS.keySet());
            HasMetadata model = JSON3.readValue(t.toString(), cls);
            assertNotNull(model.getMetadata(), where + ": no metadata");
            assertTrue(model.getMetadata().getName() != null && !model.getMetadata().getName().isBlank(),
                    where + ": no metadata.name");
            assertEquals(t.path("kind").asText(), model.getKind(), where);
            if (!(model instanceof GenericKubernetesResource)) {
                assertNoUnknownFields(where, model, "");
            }
            out.add(new Doc(file, i, t, model));
        }
        return out;
    }

    /** All documents of all YAML files under k8s/. */
    static List<Doc> all() throws IOException {
        List<Doc> docs = new ArrayList<>();
        for (Path f : yamlFiles(K8S)) {
            docs.addAll(parse(f));
        }
        return docs;
    }

    /**
     * What a kustomization lists in {@code resources} and in the older {@code bases} (directories; the overlays use
     * {@code bases} because kustomize v2.0, in Debian's kubectl 1.20, takes only files in {@code resources}).
     */
    static List<String> resourcePaths(JsonNode k) {
        List<String> out = new ArrayList<>();
        k.path("resources").forEach(r -> out.add(r.asText()));
        k.path("bases").forEach(r -> out.add(r.asText()));
        return out;
    }

    /** The documents of the files a kustomization directory lists in {@code resources} (recursively, bases too). */
    static List<Doc> resourcesOf(Path kustomizationDir) throws IOException {
        List<Doc> docs = new ArrayList<>();
        JsonNode k = kustomization(kustomizationDir);
        for (String r : resourcePaths(k)) {
            Path p = kustomizationDir.resolve(r).normalize();
            if (Files.isDirectory(p)) {
                docs.addAll(resourcesOf(p));
            } else {
                docs.addAll(parse(p));
            }
        }
        return docs;
    }

    static JsonNode kustomization(Path dir) throws IOException {
        Path f = dir.resolve("kustomization.yaml");
        assertTrue(Files.isRegularFile(f), dir + ": no kustomization.yaml");
        List<JsonNode> docs = DeployContract.yamlDocuments(f);
        assertEquals(1, docs.size(), f + ": one document");
        assertEquals(KUSTOMIZATION, docs.get(0).path("apiVersion").asText() + "/" + docs.get(0).path("kind").asText(),
                f + ": apiVersion/kind");
        return docs.get(0);
    }

    /** The paths of a kustomization's patches (patches[].path and the older patchesStrategicMerge). */
    static List<String> patchPaths(JsonNode k) {
        List<String> out = new ArrayList<>();
        for (JsonNode p : k.path("patches")) {
            if (p.has("path")) {
                out.add(p.get("path").asText());
            }
        }
        for (JsonNode p : k.path("patchesStrategicMerge")) {
            out.add(p.asText());
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static <T extends HasMetadata> T one(List<Doc> docs, Class<T> cls, String name) {
        List<T> found = docs.stream().filter(d -> cls.isInstance(d.model()) && d.name().equals(name))
                .map(d -> (T) d.model()).toList();
        assertEquals(1, found.size(), "exactly one " + cls.getSimpleName() + " named " + name + ", found " + found.size());
        return found.get(0);
    }

    /** The generic resources of a kind (Strimzi's, NetworkPolicy). */
    static List<GenericKubernetesResource> strimzi(List<Doc> docs, String kind) {
        return docs.stream().filter(d -> d.model() instanceof GenericKubernetesResource && d.kind().equals(kind))
                .map(d -> (GenericKubernetesResource) d.model()).toList();
    }

    /**
     * Walks a parsed model object: every fabric8 object on the way must have empty additionalProperties, i.e. the
     * YAML holds no field the Kubernetes API does not define at that place.
     */
    static void assertNoUnknownFields(String where, Object o, String path) {
        if (o == null) {
            return;
        }
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object e : c) {
                assertNoUnknownFields(where, e, path + "[" + i++ + "]");
            }
            return;
        }
        if (o instanceof Map<?, ?> m) {
            for (var e : m.entrySet()) {
                assertNoUnknownFields(where, e.getValue(), path + "." + e.getKey());
            }
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.")) {
            return;
        }
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers()) || !m.getName().startsWith("get")
                    || m.getDeclaringClass() == Object.class) {
                continue;
            }
            Object v;
            try {
                v = m.invoke(o);
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(e);
            }
            String field = Character.toLowerCase(m.getName().charAt(3)) + m.getName().substring(4);
            if (m.getName().equals("getAdditionalProperties")) {
                if (v instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    fail(where + ": unknown field(s) " + extra.keySet() + " at " + (path.isEmpty() ? "top level" : path)
                            + " (" + o.getClass().getSimpleName() + ")");
                }
            } else {
                assertNoUnknownFields(where, v, path + "." + field);
            }
        }
    }
}
