package org.hopestreams;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Keys and certificates for TLS tests, made by the JDK's {@code keytool} in a folder of the test's: for each name
 * {@code NAME.p12} (PKCS12, password {@link #PASSWORD}: the key and its chain) and {@code NAME.crt} (the certificate,
 * PEM, as operators mount a CA). Certificates cover {@code 127.0.0.1} and {@code localhost} and last two days.
 */
public final class TestCerts {
    public static final String PASSWORD = "changeit";
    private static final String SAN = "SAN=ip:127.0.0.1,dns:localhost";

    private final Path dir;

    public TestCerts(Path dir) {
        this.dir = dir;
    }

    /** A self-signed key pair {@code name}: its keystore. */
    public Path selfSigned(String name) throws IOException, InterruptedException {
        Path ks = genkeypair(name, "-ext", SAN);
        export(name);
        return ks;
    }

    /** A certificate authority {@code name} (self-signed, basic constraints CA): its keystore. */
    public Path authority(String name) throws IOException, InterruptedException {
        Path ks = genkeypair(name, "-ext", "bc:c");
        export(name);
        return ks;
    }

    /** A key pair {@code name} whose certificate the authority {@code ca} signs: its keystore (key, then the chain). */
    public Path signed(String name, String ca) throws IOException, InterruptedException {
        Path ks = genkeypair(name);
        Path csr = dir.resolve(name + ".csr");
        keytool("-certreq", "-alias", name, "-keystore", ks.toString(), "-storepass", PASSWORD, "-file", csr.toString());
        keytool("-gencert", "-alias", ca, "-keystore", file(ca, ".p12"), "-storepass", PASSWORD, "-infile",
                csr.toString(), "-outfile", file(name, ".crt"), "-rfc", "-ext", SAN, "-validity", "2");
        keytool("-importcert", "-noprompt", "-alias", ca, "-file", file(ca, ".crt"), "-keystore", ks.toString(),
                "-storepass", PASSWORD);
        keytool("-importcert", "-alias", name, "-file", file(name, ".crt"), "-keystore", ks.toString(),
                "-storepass", PASSWORD);
        return ks;
    }

    /** A PKCS12 trust store {@code name} holding the certificates of {@code certs}. */
    public Path trust(String name, String... certs) throws IOException, InterruptedException {
        Path ts = dir.resolve(name + ".p12");
        for (String c : certs) {
            keytool("-importcert", "-noprompt", "-alias", c, "-file", file(c, ".crt"), "-storetype", "PKCS12",
                    "-keystore", ts.toString(), "-storepass", PASSWORD);
        }
        return ts;
    }

    /** The PEM certificate of {@code name}. */
    public Path pem(String name) {
        return dir.resolve(name + ".crt");
    }

    private Path genkeypair(String name, String... ext) throws IOException, InterruptedException {
        Path ks = dir.resolve(name + ".p12");
        List<String> args = new ArrayList<>(List.of("-genkeypair", "-alias", name, "-keyalg", "EC", "-groupname",
                "secp256r1", "-dname", "CN=" + name, "-validity", "2", "-storetype", "PKCS12", "-keystore",
                ks.toString(), "-storepass", PASSWORD));
        args.addAll(List.of(ext));
        keytool(args.toArray(String[]::new));
        return ks;
    }

    private void export(String name) throws IOException, InterruptedException {
        keytool("-exportcert", "-rfc", "-alias", name, "-keystore", file(name, ".p12"), "-storepass", PASSWORD,
                "-file", file(name, ".crt"));
    }

    private String file(String name, String suffix) {
        return dir.resolve(name + suffix).toString();
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("keytool " + String.join(" ", args) + ": " + out);
        }
    }
}
