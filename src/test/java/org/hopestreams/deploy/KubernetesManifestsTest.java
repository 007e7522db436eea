package org.hopestreams.deploy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.serve.Routes;
import org.hopestreams.stream.HopeStreamsConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.hopestreams.deploy.K8sManifests.Doc;
import static org.hopestreams.deploy.K8sManifests.one;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * k8s/: the manifests against the application's contract (HopeStreamsConfig, Routes) and against each other
 * (selectors, service names, ports, the Strimzi cluster). The base is read through its kustomization; the overlay
 * patches are read as the partial StatefulSets they are.
 */
class KubernetesManifestsTest {
    static final String APP = "hope-streams";
    static final String HEADLESS = "hope-streams-headless";
    static final String CONFIG_MAP = "hope-streams-config";
    /** Env names the pod needs but the application ignores: the downward API values STREAMS_APPLICATION_SERVER uses. */
    static final Set<String> POD_ENV = Set.of("POD_NAME", "POD_NAMESPACE", "DJL_CACHE_DIR", "ENGINE_CACHE_DIR",
            "JAVA_TOOL_OPTIONS");

    static List<Doc> base;
    static StatefulSet sts;
    static ConfigMap config;

    @BeforeAll
    static void load() throws Exception {
        base = K8sManifests.resourcesOf(K8sManifests.K8S.resolve("base"));
        sts = one(base, StatefulSet.class, APP);
        config = one(base, ConfigMap.class, CONFIG_MAP);
    }

    static Container appContainer(PodTemplateSpec t) {
        List<Container> c = t.getSpec().getContainers().stream().filter(x -> x.getName().equals(APP)).toList();
        assertEquals(1, c.size(), "one container named " + APP);
        return c.get(0);
    }

    static StatefulSet overlayPatch(String overlay) throws Exception {
        Path dir = K8sManifests.K8S.resolve("overlays").resolve(overlay);
        List<StatefulSet> patches = new ArrayList<>();
        for (String p : K8sManifests.patchPaths(K8sManifests.kustomization(dir))) {
            for (Doc d : K8sManifests.parse(dir.resolve(p))) {
                if (d.model() instanceof StatefulSet s && d.name().equals(APP)) {
                    patches.add(s);
                }
            }
        }
        assertEquals(1, patches.size(), overlay + " overlay: one StatefulSet patch of " + APP);
        return patches.get(0);
    }

    /** The port a probe or service names, resolved against the container's ports. */
    static int resolvePort(Container c, IntOrString port, String where) {
        assertNotNull(port, where + ": no port");
        if (port.getIntVal() != null) {
            return port.getIntVal();
        }
        return c.getPorts().stream().filter(p -> port.getStrVal().equals(p.getName())).findFirst()
                .map(ContainerPort::getContainerPort)
                .orElseThrow(() -> new AssertionError(where + ": no container port named " + port.getStrVal()));
    }

    @Test
    void everyManifestParsesIntoTheKubernetesModel() throws Exception {
        List<Doc> all = K8sManifests.all();
        // base: the app, its services, config and PDB, the registry, Strimzi's Kafka, node pool and topics
        Set<String> kinds = new HashSet<>();
        base.forEach(d -> kinds.add(d.kind()));
        assertEquals(Set.of("ConfigMap", "StatefulSet", "Service", "PodDisruptionBudget", "Deployment", "Kafka",
                "KafkaNodePool", "KafkaTopic", "KafkaUser", "NetworkPolicy"), kinds);
        assertTrue(all.size() > base.size(), "the overlays' kustomizations and patches are parsed too");
    }

    @Test
    void probesUseRoutesOfTheApiOnTheManagementPort() {
        Container c = appContainer(sts.getSpec().getTemplate());
        Map<String, Integer> ports = new LinkedHashMap<>();
        c.getPorts().forEach(p -> ports.put(p.getName(), p.getContainerPort()));
        assertEquals(Map.of("http", DeployContract.httpPort(), "management", DeployContract.managementPort()), ports,
                "container ports = defaults of " + HopeStreamsConfig.HTTP_PORT + " and "
                        + HopeStreamsConfig.HTTP_MANAGEMENT_PORT);

        assertNotNull(c.getReadinessProbe(), "readiness probe");
        assertNotNull(c.getLivenessProbe(), "liveness probe");
        assertEquals(Routes.READY, c.getReadinessProbe().getHttpGet().getPath(), "readiness probe path");
        assertEquals(Routes.LIVE, c.getLivenessProbe().getHttpGet().getPath(), "liveness probe path");
        Map<String, Probe> probes = new LinkedHashMap<>();
        probes.put("readiness", c.getReadinessProbe());
        probes.put("liveness", c.getLivenessProbe());
        if (c.getStartupProbe() != null) {
            probes.put("startup", c.getStartupProbe());
        }
        probes.forEach((name, p) -> {
            assertNotNull(p.getHttpGet(), name + " probe: an HTTP GET");
            assertTrue(Routes.GET.contains(p.getHttpGet().getPath()),
                    name + " probe path " + p.getHttpGet().getPath() + " is not a GET route: " + Routes.GET);
            assertEquals(DeployContract.managementPort(), resolvePort(c, p.getHttpGet().getPort(), name + " probe"),
                    name + " probe port: the management port, where probes never wait behind queries");
        });
    }

    /** The pod's environment as the container sees it: the ConfigMap's keys (envFrom), then env, which wins. */
    static Map<String, String> effectiveEnv(List<EnvVar> env) {
        Map<String, String> m = new LinkedHashMap<>(config.getData());
        for (EnvVar e : env) {
            m.put(e.getName(), e.getValue() == null ? "<valueFrom>" : e.getValue());
        }
        // $(VAR) references as the kubelet expands them, with sample downward-API values
        Map<String, String> sample = Map.of("POD_NAME", APP + "-0", "POD_NAMESPACE", "ns");
        m.replaceAll((k, v) -> {
            Matcher mm = Pattern.compile("\\$\\(([A-Z_][A-Z0-9_]*)\\)").matcher(v);
            return mm.replaceAll(r -> sample.getOrDefault(r.group(1), r.group()));
        });
        m.keySet().removeIf(POD_ENV::contains);
        return m;
    }

    @Test
    void environmentNamesMapToConfigurationKeysAndValuesAreValid() throws Exception {
        Container c = appContainer(sts.getSpec().getTemplate());
        List<String> envFrom = c.getEnvFrom().stream().map(EnvFromSource::getConfigMapRef)
                .map(r -> r == null ? null : r.getName()).toList();
        assertEquals(List.of(CONFIG_MAP), envFrom, "envFrom: the ConfigMap");
        DeployContract.assertEnvNamesKnown("ConfigMap " + CONFIG_MAP, config.getData().keySet(), Set.of());
        DeployContract.assertEnvNamesKnown("StatefulSet " + APP, c.getEnv().stream().map(EnvVar::getName).toList(),
                POD_ENV);

        // $(VAR) in a value only expands when VAR is defined earlier in env
        List<String> defined = new ArrayList<>();
        for (EnvVar e : c.getEnv()) {
            if (e.getValue() != null) {
                Matcher m = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)").matcher(e.getValue());
                while (m.find()) {
                    assertTrue(defined.contains(m.group(1)), e.getName() + " refers to $(" + m.group(1)
                            + ") which env does not define before it");
                }
            }
            defined.add(e.getName());
        }
        HopeStreamsConfig cfg = DeployContract.assertEnvValuesValid("base", effectiveEnv(c.getEnv()));
        for (String overlay : List.of("cpu", "gpu")) {
            List<EnvVar> env = new ArrayList<>(c.getEnv());
            List<EnvVar> patchEnv = appContainer(overlayPatch(overlay).getSpec().getTemplate()).getEnv();
            DeployContract.assertEnvNamesKnown(overlay + " overlay", patchEnv.stream().map(EnvVar::getName).toList(),
                    Set.of());
            env.addAll(patchEnv);
            DeployContract.assertEnvValuesValid(overlay + " overlay", effectiveEnv(env));
        }

        // application.server: this pod's name in the headless service, on the HTTP port
        String server = c.getEnv().stream().filter(e -> e.getName().equals("STREAMS_APPLICATION_SERVER"))
                .map(EnvVar::getValue).findFirst().orElseThrow(() -> new AssertionError("no STREAMS_APPLICATION_SERVER"));
        assertEquals("$(POD_NAME)." + HEADLESS + ".$(POD_NAMESPACE).svc:" + DeployContract.httpPort(), server);
        assertEquals(DeployContract.httpPort(), cfg.getInt(HopeStreamsConfig.HTTP_PORT), "hope.http.port in the pod");
        Map<String, String> fieldRefs = new LinkedHashMap<>();
        c.getEnv().stream().filter(e -> e.getValueFrom() != null && e.getValueFrom().getFieldRef() != null)
                .forEach(e -> fieldRefs.put(e.getName(), e.getValueFrom().getFieldRef().getFieldPath()));
        assertEquals(Map.of("POD_NAME", "metadata.name", "POD_NAMESPACE", "metadata.namespace"), fieldRefs);
    }

    @Test
    void stateDirectoryIsThePersistentVolume() {
        Container c = appContainer(sts.getSpec().getTemplate());
        String stateDir = config.getData().get(HopeStreamsConfig.envName(StreamsConfig.STATE_DIR_CONFIG));
        assertNotNull(stateDir, "the ConfigMap sets STREAMS_STATE_DIR");
        List<VolumeMount> mounts = c.getVolumeMounts().stream().filter(m -> m.getMountPath().equals(stateDir)).toList();
        assertEquals(1, mounts.size(), "a volume is mounted at the state dir " + stateDir);
        assertTrue(sts.getSpec().getVolumeClaimTemplates().stream()
                        .anyMatch(t -> t.getMetadata().getName().equals(mounts.get(0).getName())),
                "the state dir's volume is a volumeClaimTemplate (one persistent volume per pod)");
    }

    static void assertSelects(Map<String, String> selector, Map<String, String> podLabels, String what) {
        assertNotNull(selector, what + ": no selector");
        assertFalse(selector.isEmpty(), what + ": empty selector");
        selector.forEach((k, v) -> assertEquals(v, podLabels.get(k), what + " selects " + k + "=" + v
                + " but the pods carry " + podLabels));
    }

    @Test
    void servicesAndDisruptionBudgetSelectTheStatefulSetPods() {
        Map<String, String> podLabels = sts.getSpec().getTemplate().getMetadata().getLabels();
        Container c = appContainer(sts.getSpec().getTemplate());
        assertSelects(sts.getSpec().getSelector().getMatchLabels(), podLabels, "StatefulSet selector");

        Service headless = one(base, Service.class, HEADLESS);
        assertEquals("None", headless.getSpec().getClusterIP(), "headless: clusterIP None");
        assertEquals(Boolean.TRUE, headless.getSpec().getPublishNotReadyAddresses(), "headless: publishNotReadyAddresses");
        assertEquals(HEADLESS, sts.getSpec().getServiceName(), "StatefulSet serviceName = the headless service");
        assertSelects(headless.getSpec().getSelector(), podLabels, "headless service");

        Service client = one(base, Service.class, APP);
        assertFalse("None".equals(client.getSpec().getClusterIP()), "client service has a cluster IP");
        assertSelects(client.getSpec().getSelector(), podLabels, "client service");
        for (Service s : List.of(headless, client)) {
            List<ServicePort> ports = s.getSpec().getPorts();
            assertEquals(1, ports.size(), s.getMetadata().getName() + ": one port");
            assertEquals(DeployContract.httpPort(), ports.get(0).getPort(), s.getMetadata().getName() + " port");
            assertEquals(DeployContract.httpPort(), resolvePort(c, ports.get(0).getTargetPort(),
                    s.getMetadata().getName() + " targetPort"), s.getMetadata().getName() + " targetPort");
        }

        PodDisruptionBudget pdb = one(base, PodDisruptionBudget.class, APP);
        assertSelects(pdb.getSpec().getSelector().getMatchLabels(), podLabels, "PodDisruptionBudget");
        assertEquals(new IntOrString(1), pdb.getSpec().getMaxUnavailable(), "PDB maxUnavailable");
    }

    @Test
    void logsAreJsonLines() {
        assertEquals("json", config.getData().get(HopeStreamsConfig.envName(HopeStreamsConfig.LOG_FORMAT)),
                "the ConfigMap sets HOPE_LOG_FORMAT=json: one JSON object per log line for the log collector");
    }

    @Test
    void registryUrlNamesTheRegistryService() {
        String url = config.getData().get(HopeStreamsConfig.envName(HopeStreamsConfig.REGISTRY_URL));
        assertNotNull(url, "the ConfigMap sets HOPE_REGISTRY_URL");
        URI u = URI.create(url);
        Service svc = one(base, Service.class, u.getHost());
        Deployment registry = one(base, Deployment.class, u.getHost());
        assertEquals("/apis/ccompat/v7", u.getPath(), "the registry's Confluent-compatible API");
        HopeStreamsConfig cfg = new HopeStreamsConfig(HopeStreamsConfig.fromEnvironment(config.getData()));
        assertEquals("confluent", cfg.getString(HopeStreamsConfig.REGISTRY_API), "the API of that URL");
        assertEquals("FULL_TRANSITIVE", cfg.getString(HopeStreamsConfig.REGISTRY_COMPATIBILITY_INPUT));
        assertEquals("FULL_TRANSITIVE", cfg.getString(HopeStreamsConfig.REGISTRY_COMPATIBILITY_OUTPUT));
        assertTrue(svc.getSpec().getPorts().stream().anyMatch(p -> p.getPort() == u.getPort()),
                "registry service port " + u.getPort());
        assertSelects(svc.getSpec().getSelector(), registry.getSpec().getTemplate().getMetadata().getLabels(),
                "registry service");
        Container rc = registry.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertEquals("apicurio/apicurio-registry:3.0.9", rc.getImage());
    }

    static Map<String, Object> map(Object o) {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) o;
        return m;
    }

    @Test
    void kafkaIsAStrimziKraftClusterWithTheApplicationsTopics() {
        List<GenericKubernetesResource> kafkas = K8sManifests.strimzi(base, "Kafka");
        assertEquals(1, kafkas.size(), "one Kafka");
        GenericKubernetesResource kafka = kafkas.get(0);
        String cluster = kafka.getMetadata().getName();
        Map<String, String> ann = kafka.getMetadata().getAnnotations();
        assertEquals("enabled", ann.get("strimzi.io/kraft"), "KRaft annotation");
        assertEquals("enabled", ann.get("strimzi.io/node-pools"), "node pools annotation");

        List<GenericKubernetesResource> pools = K8sManifests.strimzi(base, "KafkaNodePool");
        assertEquals(1, pools.size(), "one node pool");
        GenericKubernetesResource pool = pools.get(0);
        assertEquals(cluster, pool.getMetadata().getLabels().get("strimzi.io/cluster"), "node pool's cluster");
        Map<String, Object> poolSpec = map(pool.getAdditionalProperties().get("spec"));
        assertEquals(Set.of("controller", "broker"), new HashSet<>((List<?>) poolSpec.get("roles")), "node roles");
        int nodes = ((Number) poolSpec.get("replicas")).intValue();

        // exactly-once: the transaction state log must be creatable and writable on this many nodes
        Map<String, Object> kafkaSpec = map(map(kafka.getAdditionalProperties().get("spec")).get("kafka"));
        Map<String, Object> brokerConfig = map(kafkaSpec.get("config"));
        int txRf = ((Number) brokerConfig.get("transaction.state.log.replication.factor")).intValue();
        int txIsr = ((Number) brokerConfig.get("transaction.state.log.min.isr")).intValue();
        assertTrue(txRf <= nodes && txIsr <= txRf, "transaction state log RF " + txRf + ", min ISR " + txIsr
                + " on " + nodes + " nodes");

        // the ConfigMap's bootstrap servers: Strimzi's bootstrap service of this cluster and a listener's port
        String bootstrap = config.getData().get(HopeStreamsConfig.envName(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG));
        List<?> listeners = (List<?>) kafkaSpec.get("listeners");
        Set<String> addresses = new HashSet<>();
        for (Object l : listeners) {
            addresses.add(cluster + "-kafka-bootstrap:" + map(l).get("port"));
        }
        assertTrue(addresses.contains(bootstrap), "STREAMS_BOOTSTRAP_SERVERS " + bootstrap + " is not one of " + addresses);
        int replicationFactor = Integer.parseInt(config.getData().getOrDefault("STREAMS_REPLICATION_FACTOR", "-1"));
        assertTrue(replicationFactor <= nodes, "Streams internal topics' replication factor <= nodes");

        List<GenericKubernetesResource> topics = K8sManifests.strimzi(base, "KafkaTopic");
        Set<String> names = new HashSet<>();
        Map<String, Map<String, Object>> specs = new HashMap<>();
        for (GenericKubernetesResource t : topics) {
            Map<String, Object> spec = map(t.getAdditionalProperties().get("spec"));
            Object topicName = spec.get("topicName");
            names.add(topicName != null ? topicName.toString() : t.getMetadata().getName());
            specs.put(topicName != null ? topicName.toString() : t.getMetadata().getName(), spec);
            assertEquals(cluster, t.getMetadata().getLabels().get("strimzi.io/cluster"),
                    t.getMetadata().getName() + ": strimzi.io/cluster label");
            int partitions = ((Number) spec.get("partitions")).intValue();
            int replicas = ((Number) spec.get("replicas")).intValue();
            assertTrue(partitions >= 1 && replicas >= 1 && replicas <= nodes,
                    t.getMetadata().getName() + ": partitions " + partitions + ", replicas " + replicas);
        }
        assertEquals(topics.size(), names.size(), "no topic twice");
        assertEquals(DeployContract.defaultTopics(), names, "KafkaTopics = the default topic names of HopeStreamsConfig");
        // one model across shards, on in the ConfigMap: one consolidator; a global version in every input partition;
        // broker time stamps (an old event time must not let retention delete an unread version)
        assertEquals("true", config.getData().get(HopeStreamsConfig.envName(HopeStreamsConfig.SHARDS_ENABLED)));
        Map<String, Object> defaults = HopeStreamsConfig.DEF.defaultValues();
        Map<String, Object> deltas = specs.get((String) defaults.get(HopeStreamsConfig.SHARDS_TOPIC));
        Map<String, Object> global = specs.get((String) defaults.get(HopeStreamsConfig.SHARDS_GLOBAL_TOPIC));
        assertEquals(1, ((Number) deltas.get("partitions")).intValue(), "one consolidator");
        assertEquals(specs.get((String) defaults.get(HopeStreamsConfig.INPUT_TOPIC)).get("partitions"),
                global.get("partitions"), "the global topic has the input's partitions");
        for (Map<String, Object> s : List.of(deltas, global)) {
            assertEquals("LogAppendTime", map(s.get("config")).get("message.timestamp.type"));
        }
    }

    @Test
    void gpuOverlayAsksForAGpuNodeAndTheGpuImage() throws Exception {
        StatefulSet patch = overlayPatch("gpu");
        var pod = patch.getSpec().getTemplate().getSpec();
        Container c = appContainer(patch.getSpec().getTemplate());
        assertEquals(new Quantity("1"), c.getResources().getLimits().get("nvidia.com/gpu"), "limits nvidia.com/gpu: 1");
        assertEquals("true", pod.getNodeSelector().get("nvidia.com/gpu.present"), "GPU node selector");
        List<Toleration> tol = pod.getTolerations().stream()
                .filter(t -> "nvidia.com/gpu".equals(t.getKey()) && "NoSchedule".equals(t.getEffect())).toList();
        assertEquals(1, tol.size(), "a toleration of nvidia.com/gpu:NoSchedule");
        assertTrue("Exists".equals(tol.get(0).getOperator()) || tol.get(0).getValue() != null, "toleration matches");
        assertEquals(List.of("gpu"), c.getEnv().stream()
                .filter(e -> e.getName().equals(HopeStreamsConfig.envName(HopeStreamsConfig.DEVICE)))
                .map(EnvVar::getValue).toList(), "HOPE_DEVICE=gpu");
        assertEquals("hope-streams:gpu", KustomizationTest.overlayImage("gpu", appContainer(sts.getSpec().getTemplate())
                .getImage()), "gpu overlay image");
    }

    @Test
    void cpuOverlaySetsCpuAndMemoryAndNoGpu() throws Exception {
        Container c = appContainer(overlayPatch("cpu").getSpec().getTemplate());
        for (String r : List.of("cpu", "memory")) {
            assertNotNull(c.getResources().getRequests().get(r), "cpu overlay requests " + r);
            assertNotNull(c.getResources().getLimits().get(r), "cpu overlay limits " + r);
        }
        assertFalse(c.getResources().getLimits().containsKey("nvidia.com/gpu"), "no GPU on the cpu overlay");
        assertEquals("hope-streams:cpu", KustomizationTest.overlayImage("cpu", appContainer(sts.getSpec().getTemplate())
                .getImage()), "cpu overlay image");
    }

    // ---- secure deployment (issue 14) ----

    static List<Map<String, Object>> list(Object o) {
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> l = o == null ? List.of() : (List<Map<String, Object>>) o;
        return l;
    }

    static String envValueFromSecret(Container c, String name) {
        return c.getEnv().stream().filter(e -> e.getName().equals(name) && e.getValueFrom() != null
                        && e.getValueFrom().getSecretKeyRef() != null)
                .map(e -> e.getValueFrom().getSecretKeyRef().getName()).findFirst().orElse(null);
    }

    @Test
    void podRunsLockedDownWithWritableScratchOnlyWhereNeeded() {
        var pod = sts.getSpec().getTemplate().getSpec();
        Container c = appContainer(sts.getSpec().getTemplate());
        assertEquals(Boolean.FALSE, pod.getAutomountServiceAccountToken(), "automountServiceAccountToken: false");
        assertEquals("RuntimeDefault", pod.getSecurityContext().getSeccompProfile().getType(), "seccomp RuntimeDefault");
        assertEquals(Boolean.TRUE, pod.getSecurityContext().getRunAsNonRoot(), "runAsNonRoot");
        var sc = c.getSecurityContext();
        assertNotNull(sc, "container securityContext");
        assertEquals(Boolean.FALSE, sc.getAllowPrivilegeEscalation(), "allowPrivilegeEscalation: false");
        assertEquals(Boolean.TRUE, sc.getReadOnlyRootFilesystem(), "readOnlyRootFilesystem: true");
        assertEquals(List.of("ALL"), sc.getCapabilities().getDrop(), "capabilities: drop ALL");
        assertTrue(sc.getCapabilities().getAdd() == null || sc.getCapabilities().getAdd().isEmpty(), "no capability added");

        // a read-only root: /tmp and the native library caches are emptyDirs, the state dir its volume
        Set<String> emptyDirs = new HashSet<>();
        for (Volume v : pod.getVolumes()) {
            if (v.getEmptyDir() != null) {
                emptyDirs.add(v.getName());
            }
        }
        Map<String, String> env = new LinkedHashMap<>();
        c.getEnv().stream().filter(e -> e.getValue() != null).forEach(e -> env.put(e.getName(), e.getValue()));
        List<String> writable = new ArrayList<>();
        writable.add("/tmp");
        writable.add(env.get("DJL_CACHE_DIR"));
        writable.add(env.get("ENGINE_CACHE_DIR"));
        for (String dir : writable) {
            assertNotNull(dir, "DJL_CACHE_DIR and ENGINE_CACHE_DIR are set");
            assertTrue(c.getVolumeMounts().stream().anyMatch(m -> emptyDirs.contains(m.getName())
                            && (dir + "/").startsWith(m.getMountPath().replaceAll("/$", "") + "/")),
                    dir + " lies on an emptyDir mount: " + c.getVolumeMounts());
        }
        assertTrue(env.getOrDefault("JAVA_TOOL_OPTIONS", "").contains("-Djava.io.tmpdir=/tmp"), "java.io.tmpdir=/tmp");
        c.getVolumeMounts().stream().filter(m -> !emptyDirs.contains(m.getName())
                        && pod.getVolumes().stream().anyMatch(v -> v.getName().equals(m.getName()) && v.getSecret() != null))
                .forEach(m -> assertEquals(Boolean.TRUE, m.getReadOnly(), m.getName() + ": Secrets mount read-only"));

        for (String r : List.of("cpu", "memory")) {
            assertNotNull(c.getResources().getRequests().get(r), "base requests " + r);
            assertNotNull(c.getResources().getLimits().get(r), "base limits " + r);
        }
        var anti = pod.getAffinity().getPodAntiAffinity().getRequiredDuringSchedulingIgnoredDuringExecution();
        assertEquals(1, anti.size(), "one pod anti-affinity term");
        assertEquals("kubernetes.io/hostname", anti.get(0).getTopologyKey(), "spread across nodes");
        assertSelects(anti.get(0).getLabelSelector().getMatchLabels(), sts.getSpec().getTemplate().getMetadata()
                .getLabels(), "anti-affinity");
        assertNotNull(one(base, PodDisruptionBudget.class, APP), "PDB kept");
    }

    @Test
    void apiTokensAndForwardingComeFromSecretsAndTheHeadlessDomain() {
        Container c = appContainer(sts.getSpec().getTemplate());
        Map<String, String> env = effectiveEnv(c.getEnv());
        String tokens = env.get(HopeStreamsConfig.envName(HopeStreamsConfig.HTTP_AUTH_TOKENS_FILE));
        assertNotNull(tokens, "HOPE_HTTP_AUTH_TOKENS_FILE: authentication is on");
        var pod = sts.getSpec().getTemplate().getSpec();
        VolumeMount m = c.getVolumeMounts().stream().filter(v -> tokens.startsWith(v.getMountPath() + "/")).findFirst()
                .orElseThrow(() -> new AssertionError("the tokens file " + tokens + " is on no mount"));
        Volume v = pod.getVolumes().stream().filter(x -> x.getName().equals(m.getName())).findFirst().orElseThrow();
        assertNotNull(v.getSecret(), "the tokens file comes from a Secret");
        assertEquals(v.getSecret().getSecretName(), envValueFromSecret(c,
                HopeStreamsConfig.envName(HopeStreamsConfig.HTTP_FORWARD_TOKEN)), "forward token: the same Secret");
        assertEquals("*." + HEADLESS + ".ns.svc", env.get(HopeStreamsConfig.envName(HopeStreamsConfig.HTTP_FORWARD_ALLOW)),
                "forwarding only to the headless service's domain");
        assertEquals(Integer.toString(DeployContract.managementPort()),
                config.getData().get(HopeStreamsConfig.envName(HopeStreamsConfig.HTTP_MANAGEMENT_PORT)));
    }

    @Test
    void networkPolicyOpensOnlyKafkaRegistryDnsAndTheApisClients() {
        List<GenericKubernetesResource> nps = K8sManifests.strimzi(base, "NetworkPolicy");
        assertEquals(1, nps.size(), "one NetworkPolicy");
        Map<String, Object> spec = map(nps.get(0).getAdditionalProperties().get("spec"));
        @SuppressWarnings("unchecked")
        Map<String, String> selector = (Map<String, String>) map(spec.get("podSelector")).get("matchLabels");
        assertSelects(selector, sts.getSpec().getTemplate().getMetadata().getLabels(), "NetworkPolicy");
        assertEquals(List.of("Ingress", "Egress"), spec.get("policyTypes"));

        Map<Object, List<Map<String, Object>>> ingress = new LinkedHashMap<>();
        for (Map<String, Object> rule : list(spec.get("ingress"))) {
            assertFalse(list(rule.get("from")).isEmpty(), "every ingress rule names its sources: " + rule);
            for (Map<String, Object> p : list(rule.get("ports"))) {
                ingress.put(p.get("port"), list(rule.get("from")));
            }
        }
        assertEquals(Set.of("http", "management"), ingress.keySet(), "ingress only to the query and management ports");
        assertTrue(ingress.get("http").stream().anyMatch(f -> f.toString().contains("hope-streams/api-client")),
                "the query port: the API's clients");
        assertFalse(ingress.get("http").stream().anyMatch(f -> f.toString().contains("hope-streams/metrics")),
                "Prometheus does not reach the query port");
        assertTrue(ingress.get("management").stream().anyMatch(f -> f.toString().contains("hope-streams/metrics")),
                "the management port: Prometheus");

        Set<Object> egressPorts = new HashSet<>();
        String egress = String.valueOf(spec.get("egress"));
        for (Map<String, Object> rule : list(spec.get("egress"))) {
            assertFalse(list(rule.get("to")).isEmpty(), "every egress rule names its destinations: " + rule);
            list(rule.get("ports")).forEach(p -> egressPorts.add(p.get("port")));
        }
        String bootstrap = config.getData().get(HopeStreamsConfig.envName(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG));
        int kafkaPort = Integer.parseInt(bootstrap.substring(bootstrap.lastIndexOf(':') + 1));
        assertEquals(Set.of(kafkaPort, 8080, 53), egressPorts, "egress: Kafka, the registry and peers, DNS");
        assertTrue(egress.contains("strimzi.io/cluster=hope-kafka") && egress.contains("apicurio-registry")
                && egress.contains("kube-dns"), egress);
    }

    @Test
    void kafkaClientsUseTlsScramAsAKafkaUserWithAclsOnItsOwnResources() {
        GenericKubernetesResource kafka = K8sManifests.strimzi(base, "Kafka").get(0);
        Map<String, Object> kafkaSpec = map(map(kafka.getAdditionalProperties().get("spec")).get("kafka"));
        assertTlsScramListener(kafka, config.getData().get(HopeStreamsConfig.envName(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG)));
        assertEquals("simple", map(kafkaSpec.get("authorization")).get("type"), "ACLs enforced");

        Map<String, String> data = config.getData();
        assertEquals("SASL_SSL", data.get("STREAMS_SECURITY_PROTOCOL"));
        assertEquals("SCRAM-SHA-512", data.get("STREAMS_SASL_MECHANISM"));
        Container c = appContainer(sts.getSpec().getTemplate());
        String userSecret = envValueFromSecret(c, "STREAMS_SASL_JAAS_CONFIG");
        assertNotNull(userSecret, "sasl.jaas.config from the KafkaUser's Secret");
        assertMountsClusterCa(sts.getSpec().getTemplate(), c, data.get("STREAMS_SSL_TRUSTSTORE_LOCATION"), kafka);

        String appId = data.get("STREAMS_APPLICATION_ID");
        Set<String> resources = aclResources(scramUser(kafka, userSecret));
        Set<String> topics = literalTopics(resources);
        assertEquals(DeployContract.defaultTopics(), topics, "literal topic ACLs: the application's topics");
        assertTrue(resources.containsAll(Set.of("topic:" + appId + "-:prefix", "group:" + appId + ":literal",
                "transactionalId:" + appId + "-:prefix")), "internal topics, group, transactional ids: " + resources);
    }

    /**
     * The registry's KafkaSQL storage is a Kafka client like the learners: TLS + SCRAM-SHA-512 as a KafkaUser of its
     * own whose ACLs name only Apicurio's topics and groups; the cluster has no listener without authentication and
     * no super user (the anonymous principal the plain listener once needed is gone).
     */
    @Test
    void registryStorageUsesItsOwnKafkaUserAndNoPrincipalIsASuperUser() {
        GenericKubernetesResource kafka = K8sManifests.strimzi(base, "Kafka").get(0);
        Map<String, Object> kafkaSpec = map(map(kafka.getAdditionalProperties().get("spec")).get("kafka"));
        for (Map<String, Object> l : list(kafkaSpec.get("listeners"))) {
            assertEquals(Boolean.TRUE, l.get("tls"), "every listener is TLS: " + l);
            assertEquals("scram-sha-512", map(l.get("authentication")).get("type"), "every listener authenticates: " + l);
        }
        Map<String, Object> authz = map(kafkaSpec.get("authorization"));
        assertEquals("simple", authz.get("type"), "ACLs enforced");
        assertTrue(authz.get("superUsers") == null || list(authz.get("superUsers")).isEmpty(),
                "no super users: " + authz.get("superUsers"));
        assertFalse(String.valueOf(kafkaSpec).contains("ANONYMOUS"), "ANONYMOUS appears nowhere");

        Deployment registry = one(base, Deployment.class, "apicurio-registry");
        PodTemplateSpec pod = registry.getSpec().getTemplate();
        Container rc = pod.getSpec().getContainers().get(0);
        Map<String, String> env = new LinkedHashMap<>();
        rc.getEnv().stream().filter(e -> e.getValue() != null).forEach(e -> env.put(e.getName(), e.getValue()));
        assertEquals("kafkasql", env.get("APICURIO_STORAGE_KIND"));
        Map<String, Object> listener = assertTlsScramListener(kafka, env.get("APICURIO_KAFKASQL_BOOTSTRAP_SERVERS"));
        assertTrue(String.valueOf(listener.get("networkPolicyPeers")).contains("apicurio-registry"),
                "the listener admits the registry's pods: " + listener.get("networkPolicyPeers"));
        assertEquals("SASL_SSL", env.get("APICURIO_KAFKA_COMMON_SECURITY_PROTOCOL"));
        assertEquals("SCRAM-SHA-512", env.get("APICURIO_KAFKA_COMMON_SASL_MECHANISM"));
        assertEquals("PEM", env.get("APICURIO_KAFKA_COMMON_SSL_TRUSTSTORE_TYPE"));
        assertMountsClusterCa(pod, rc, env.get("APICURIO_KAFKA_COMMON_SSL_TRUSTSTORE_LOCATION"), kafka);
        String userSecret = envValueFromSecret(rc, "APICURIO_KAFKA_COMMON_SASL_JAAS_CONFIG");
        assertNotNull(userSecret, "the registry's sasl.jaas.config from its KafkaUser's Secret");
        assertFalse(userSecret.equals(envValueFromSecret(appContainer(sts.getSpec().getTemplate()),
                "STREAMS_SASL_JAAS_CONFIG")), "the registry is not the learners' user");

        Set<String> resources = aclResources(scramUser(kafka, userSecret));
        assertEquals(Set.of("kafkasql-journal", "kafkasql-snapshots", "registry-events"), literalTopics(resources),
                "literal topic ACLs: Apicurio's journal, snapshots and events topics");
        assertEquals(Set.of("topic:kafkasql-journal:literal", "topic:kafkasql-snapshots:literal",
                "topic:registry-events:literal", "group:apicurio-:prefix"), resources,
                "nothing but its topics and its consumer groups (none of the application's, no cluster rights)");
    }

    /** The listener of {@code bootstrap}'s port: Strimzi's bootstrap service of this cluster, TLS, SCRAM-SHA-512. */
    private static Map<String, Object> assertTlsScramListener(GenericKubernetesResource kafka, String bootstrap) {
        assertNotNull(bootstrap, "bootstrap servers");
        assertTrue(bootstrap.startsWith(kafka.getMetadata().getName() + "-kafka-bootstrap:"), bootstrap);
        int port = Integer.parseInt(bootstrap.substring(bootstrap.lastIndexOf(':') + 1));
        Map<String, Object> kafkaSpec = map(map(kafka.getAdditionalProperties().get("spec")).get("kafka"));
        Map<String, Object> listener = list(kafkaSpec.get("listeners")).stream()
                .filter(l -> ((Number) l.get("port")).intValue() == port).findFirst()
                .orElseThrow(() -> new AssertionError("no listener on " + bootstrap));
        assertEquals(Boolean.TRUE, listener.get("tls"), bootstrap + ": the listener is TLS");
        assertEquals("scram-sha-512", map(listener.get("authentication")).get("type"), bootstrap + ": SCRAM-SHA-512");
        return listener;
    }

    /** {@code location} lies in a read-only mount of Strimzi's cluster CA Secret. */
    private static void assertMountsClusterCa(PodTemplateSpec pod, Container c, String location,
                                              GenericKubernetesResource kafka) {
        assertNotNull(location, "a truststore location");
        String caSecret = kafka.getMetadata().getName() + "-cluster-ca-cert";
        assertTrue(c.getVolumeMounts().stream().anyMatch(m -> location.startsWith(m.getMountPath() + "/")
                && Boolean.TRUE.equals(m.getReadOnly())
                && pod.getSpec().getVolumes().stream().anyMatch(v -> v.getName().equals(m.getName())
                && v.getSecret() != null && v.getSecret().getSecretName().equals(caSecret))),
                location + ": the truststore is Strimzi's cluster CA Secret " + caSecret);
    }

    /** The SCRAM-SHA-512 KafkaUser {@code name} of this cluster (its Secret has the same name). */
    private GenericKubernetesResource scramUser(GenericKubernetesResource kafka, String name) {
        GenericKubernetesResource user = K8sManifests.strimzi(base, "KafkaUser").stream()
                .filter(u -> u.getMetadata().getName().equals(name))
                .findFirst().orElseThrow(() -> new AssertionError("no KafkaUser " + name));
        assertEquals(kafka.getMetadata().getName(), user.getMetadata().getLabels().get("strimzi.io/cluster"));
        assertEquals("scram-sha-512", map(map(user.getAdditionalProperties().get("spec")).get("authentication"))
                .get("type"), name + ": SCRAM-SHA-512");
        return user;
    }

    /** A KafkaUser's ACL resources as {@code type:name:patternType}; none is a wildcard. */
    private static Set<String> aclResources(GenericKubernetesResource user) {
        Map<String, Object> uspec = map(user.getAdditionalProperties().get("spec"));
        Set<String> resources = new HashSet<>();
        for (Map<String, Object> acl : list(map(uspec.get("authorization")).get("acls"))) {
            Map<String, Object> r = map(acl.get("resource"));
            String name = String.valueOf(r.get("name"));
            assertFalse(name.equals("*") || name.isEmpty() && !"cluster".equals(r.get("type")), "no wildcard ACL: " + acl);
            resources.add(r.get("type") + ":" + (r.get("name") == null ? "" : name) + ":"
                    + r.getOrDefault("patternType", "literal"));
        }
        return resources;
    }

    private static Set<String> literalTopics(Set<String> resources) {
        Set<String> topics = new HashSet<>();
        for (String r : resources) {
            if (r.startsWith("topic:") && r.endsWith(":literal")) {
                topics.add(r.substring("topic:".length(), r.length() - ":literal".length()));
            }
        }
        return topics;
    }
}
