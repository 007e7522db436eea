package org.hopestreams.deploy;

import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.stream.HopeStreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.hopestreams.deploy.Dockerfiles.Instruction;
import static org.hopestreams.deploy.Dockerfiles.Stage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docker/Dockerfile and docker/Dockerfile.gpu, read line by line: a Maven build stage and a runtime stage that runs
 * the jar the pom builds, with its lib/ class path, as a non-root user, on hope.http.port, with the state volume.
 */
class DockerfileTest {
    static final Path DOCKER = DeployContract.ROOT.resolve("docker");

    static boolean gpu(String file) {
        return file.endsWith(".gpu");
    }

    @ParameterizedTest
    @ValueSource(strings = {"Dockerfile", "Dockerfile.gpu"})
    void multiStageMavenBuildThenRuntime(String file) {
        List<Stage> stages = Dockerfiles.stages(DOCKER.resolve(file));
        assertEquals(2, stages.size(), file + ": two FROM lines (build, runtime)");
        Stage build = stages.get(0);
        Stage runtime = stages.get(1);
        assertEquals("maven:3.9-eclipse-temurin-17", build.from().split("@")[0], file + ": build image");
        assertNotNull(build.name(), file + ": the build stage is named (FROM ... AS name)");

        List<String> mvn = build.all("RUN").stream().map(Instruction::args).filter(a -> a.contains("mvn ")).toList();
        assertEquals(1, mvn.size(), file + ": one mvn RUN");
        List<String> words = List.of(mvn.get(0).split("\\s+"));
        assertTrue(words.contains("package") && words.contains("-DskipTests") && words.contains("-B"),
                file + ": mvn -B -DskipTests package, got " + mvn.get(0));
        assertEquals(gpu(file), words.contains("-Pgpu"), file + ": -Pgpu exactly in the GPU build");

        // the build copies what the build needs (and what the .dockerignore keeps)
        String ignore = DeployContract.read(DeployContract.ROOT.resolve(".dockerignore"));
        Set<String> ignored = Set.copyOf(ignore.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#"))
                .toList());
        for (Instruction copy : build.all("COPY")) {
            String[] w = copy.args().split("\\s+");
            for (int i = 0; i < w.length - 1; i++) {
                if (w[i].startsWith("--")) {
                    continue;
                }
                assertTrue(Files.exists(DeployContract.ROOT.resolve(w[i])), file + ": COPY " + w[i] + ": no such path");
                assertFalse(ignored.contains(w[i].replaceAll("/$", "")), file + ": COPY " + w[i] + " but .dockerignore drops it");
            }
        }
        for (String needed : List.of("pom.xml", "src", "schemas")) {
            assertTrue(build.all("COPY").stream().anyMatch(c -> List.of(c.args().split("\\s+")).contains(needed)),
                    file + ": the build stage copies " + needed);
        }

        String base = runtime.from();
        if (gpu(file)) {
            assertTrue(base.startsWith("nvidia/cuda:12.4.") && base.contains("runtime") && base.contains("cudnn"),
                    file + ": CUDA 12.4 cuDNN runtime base, got " + base);
            // the pom's gpu profile brings the PyTorch build for that CUDA (cu124)
            String nativeArtifact = DeployContract.profileProperty("gpu", "pytorch.native.artifact");
            assertEquals("pytorch-native-cu124", nativeArtifact, "pom gpu profile's PyTorch native artifact");
            assertTrue(runtime.all("RUN").stream().anyMatch(r -> r.args().contains("openjdk-17-jre-headless")),
                    file + ": installs a JRE 17");
            assertEquals("gpu", runtime.env().get(HopeStreamsConfig.envName(HopeStreamsConfig.DEVICE)),
                    file + ": HOPE_DEVICE=gpu");
        } else {
            assertEquals("eclipse-temurin:17-jre", base.split("@")[0], file + ": runtime base");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Dockerfile", "Dockerfile.gpu"})
    void runtimeRunsTheBuiltJarWithItsClassPath(String file) {
        List<Stage> stages = Dockerfiles.stages(DOCKER.resolve(file));
        Stage build = stages.get(0);
        Stage runtime = stages.get(1);
        String jar = DeployContract.builtJar(); // target/hope-streams.jar
        String lib = "target/" + DeployContract.classpathPrefix(); // target/lib/

        String workdir = build.all("WORKDIR").isEmpty() ? "/" : build.all("WORKDIR").get(0).args();
        String jarInImage = null;
        String libInImage = null;
        for (Instruction copy : runtime.all("COPY")) {
            List<String> w = new ArrayList<>(List.of(copy.args().split("\\s+")));
            assertEquals("--from=" + build.name(), w.get(0), file + ": runtime COPY from the build stage");
            String src = w.get(1);
            String dest = w.get(2);
            String rel = src.startsWith("/") ? Path.of(workdir).relativize(Path.of(src)).toString() : src;
            if (rel.equals(jar)) {
                jarInImage = dest;
            } else if ((rel + "/").replace("//", "/").equals(lib)) {
                libInImage = dest;
            }
        }
        assertNotNull(jarInImage, file + ": copies " + jar + " from the build stage");
        assertNotNull(libInImage, file + ": copies " + lib + " from the build stage");
        // the manifest's Class-Path is lib/<jar>: lib/ must sit beside the jar
        assertEquals(Path.of(jarInImage).getParent().resolve(DeployContract.classpathPrefix()).normalize(),
                Path.of(libInImage).normalize(), file + ": lib/ beside the jar");

        List<Instruction> entry = runtime.all("ENTRYPOINT");
        assertEquals(1, entry.size(), file + ": one ENTRYPOINT");
        List<String> ep = Dockerfiles.execForm(entry.get(0));
        assertEquals("java", ep.get(0), file + ": ENTRYPOINT runs java");
        int j = ep.indexOf("-jar");
        assertTrue(j > 0 && j == ep.size() - 2, file + ": ENTRYPOINT ends with -jar <jar>: " + ep);
        assertEquals(jarInImage, ep.get(j + 1), file + ": ENTRYPOINT runs the copied jar");

        List<Instruction> cmd = runtime.all("CMD");
        assertEquals(1, cmd.size(), file + ": one CMD");
        DeployContract.parseRun(file + " CMD", Dockerfiles.execForm(cmd.get(0)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"Dockerfile", "Dockerfile.gpu"})
    void runtimeExposesTheHttpPortAsNonRootWithTheStateVolume(String file) {
        Stage runtime = Dockerfiles.stages(DOCKER.resolve(file)).get(1);
        assertEquals(List.of(DeployContract.httpPort() + " " + DeployContract.managementPort()),
                runtime.all("EXPOSE").stream().map(Instruction::args).toList(),
                file + ": EXPOSE = hope.http.port and hope.http.management.port defaults");

        List<Instruction> user = runtime.all("USER");
        assertEquals(1, user.size(), file + ": one USER");
        String u = user.get(0).args().split(":")[0];
        assertFalse(u.equals("root") || u.equals("0"), file + ": not root");

        Map<String, String> env = runtime.env();
        DeployContract.assertEnvNamesKnown(file, env.keySet(), Set.of());
        DeployContract.assertEnvValuesValid(file, env);
        String stateDir = env.get(HopeStreamsConfig.envName(StreamsConfig.STATE_DIR_CONFIG));
        assertEquals("/var/lib/hope-streams", stateDir, file + ": STREAMS_STATE_DIR");
        List<String> volumes = new ArrayList<>();
        runtime.all("VOLUME").forEach(v -> volumes.addAll(Dockerfiles.execForm(v)));
        assertEquals(List.of(stateDir), volumes, file + ": VOLUME = the state dir");
    }

    /**
     * The runtime image installs no tool the application does not need (no curl, wget, shells or editors; the health
     * check is a class of the jar), and a base image given by digest has a well-formed sha256 digest. The bases are
     * tags today: their digests must be pinned where a registry can be reached (docs/deploy.md).
     */
    @ParameterizedTest
    @ValueSource(strings = {"Dockerfile", "Dockerfile.gpu"})
    void runtimeInstallsNoToolsAndPinnedBasesAreDigests(String file) {
        List<Stage> stages = Dockerfiles.stages(DOCKER.resolve(file));
        for (Instruction run : stages.get(1).all("RUN")) {
            List<String> words = List.of(run.args().split("\\s+"));
            for (String tool : List.of("curl", "wget", "netcat", "nc", "vim", "less", "procps", "busybox")) {
                assertFalse(words.contains(tool), file + ": the runtime installs " + tool + ": " + run.args());
            }
        }
        for (Stage s : stages) {
            if (s.from().contains("@")) {
                assertTrue(s.from().matches("[^@\\s]+@sha256:[0-9a-f]{64}"), file + ": digest form image@sha256:<64 hex>, got "
                        + s.from());
            }
        }
    }

    @Test
    void theTwoImagesDifferOnlyWhereTheGpuNeedsIt() {
        List<Stage> cpu = Dockerfiles.stages(DOCKER.resolve("Dockerfile"));
        List<Stage> gpu = Dockerfiles.stages(DOCKER.resolve("Dockerfile.gpu"));
        for (String k : List.of("ENTRYPOINT", "CMD", "EXPOSE", "USER", "VOLUME", "COPY", "WORKDIR")) {
            assertEquals(cpu.get(1).all(k).stream().map(Instruction::args).toList(),
                    gpu.get(1).all(k).stream().map(Instruction::args).toList(), "runtime " + k + " of both images");
        }
    }
}
