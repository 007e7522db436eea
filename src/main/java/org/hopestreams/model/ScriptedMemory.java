package org.hopestreams.model;

import ai.djl.Device;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * The memory's chunk loop ({@link TitansMemory#sequence}) run as a TorchScript module (README "Speed", "The memory
 * as TorchScript"): the same operations in the same order, but PyTorch's interpreter dispatches each one instead of
 * a JNI call and a Java wrapper per operation. Gradients flow through it as through any other operation (the module
 * runs with autograd on).
 *
 * <p>The code is {@code titans_memory.torchscript} (a resource, TorchScript's serialized code form); the module
 * archive around it (a pickle of the empty module object, a version, no constants) is written here, so no Python
 * and no generated file is involved. One module per device, loaded on first use and kept for the process.
 *
 * <p>On by default; {@code hope.engine.torchscript=false} (system property, or environment variable
 * {@code HOPE_ENGINE_TORCHSCRIPT}) runs the loop operation by operation through DJL instead. If the module cannot be
 * loaded, one WARN line says why and the operation-by-operation loop is used.
 */
public final class ScriptedMemory {
    private static final Logger LOG = LoggerFactory.getLogger(ScriptedMemory.class);
    public static final String PROPERTY = "hope.engine.torchscript";
    private static final String RESOURCE = "titans_memory.torchscript";
    private static final String NAME = "TitansMemory";
    private static final Map<Device, Optional<PtSymbolBlock>> MODULES = new ConcurrentHashMap<>();
    /** Kept for the process: the loaded modules belong to them. */
    private static final Map<Device, NDManager> MANAGERS = new ConcurrentHashMap<>();
    private static final ThreadLocal<Boolean> PLAIN_EXECUTOR = new ThreadLocal<>();
    /** For tests: this thread's choice, over the property's. */
    private static final ThreadLocal<Boolean> OVERRIDE = new ThreadLocal<>();
    /** Module runs so far (tests check which path ran). */
    static final java.util.concurrent.atomic.AtomicLong RUNS = new java.util.concurrent.atomic.AtomicLong();

    private ScriptedMemory() {
    }

    /** Whether the scripted loop is asked for (the property, else the environment variable, else true). */
    public static boolean enabled() {
        Boolean forced = OVERRIDE.get();
        if (forced != null) {
            return forced;
        }
        String v = System.getProperty(PROPERTY);
        if (v == null) {
            v = System.getenv("HOPE_ENGINE_TORCHSCRIPT");
        }
        return v == null || !v.trim().equalsIgnoreCase("false");
    }

    /** Runs {@code body} on this thread with the scripted loop on or off, whatever the property says. */
    static <T> T with(boolean on, java.util.function.Supplier<T> body) {
        Boolean before = OVERRIDE.get();
        OVERRIDE.set(on);
        try {
            return body.get();
        } finally {
            OVERRIDE.set(before);
        }
    }

    /** The module for {@code device}, or empty when it is off or could not be loaded (said once). */
    static Optional<PtSymbolBlock> module(Device device) {
        if (!enabled()) {
            return Optional.empty();
        }
        return MODULES.computeIfAbsent(device, ScriptedMemory::load);
    }

    private static Optional<PtSymbolBlock> load(Device device) {
        try {
            NDManager manager = MANAGERS.computeIfAbsent(device, NDManager::newBaseManager);
            PtSymbolBlock block = JniUtils.loadModule((PtNDManager) manager, new ByteArrayInputStream(archive()),
                    true, false);
            return Optional.of(block);
        } catch (IOException | RuntimeException e) {
            LOG.warn("memory as TorchScript unavailable on {} ({}); the memory's chunk loop runs operation by "
                    + "operation", device, e.toString());
            return Optional.empty();
        }
    }

    /**
     * Runs the module: inputs and outputs as in {@code titans_memory.torchscript}. The graph executor's optimiser is
     * turned off for the calling thread (PyTorch keeps that setting per thread): record lengths and batch sizes vary,
     * and the profiling executor would specialise and re-profile the loop for each new shape.
     */
    static NDList run(PtSymbolBlock module, NDList inputs) {
        if (PLAIN_EXECUTOR.get() == null) {
            JniUtils.setGraphExecutorOptimize(false);
            PLAIN_EXECUTOR.set(Boolean.TRUE);
        }
        RUNS.incrementAndGet();
        // isTrain: never PyTorch's inference mode, whose tensors autograd refuses later; the thread's gradient
        // mode decides whether the loop is recorded.
        return IValueUtils.forward(module, inputs, true);
    }

    /** The module archive: the code resource and a pickle of an empty {@value #NAME} module object. */
    static byte[] archive() throws IOException {
        byte[] code;
        try (InputStream in = ScriptedMemory.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IOException("resource " + RESOURCE + " is missing from the build");
            }
            code = in.readAllBytes();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            String dir = "titans_memory/";
            stored(zip, dir + "version", "3\n".getBytes(StandardCharsets.US_ASCII));
            stored(zip, dir + "constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});   // protocol 2, (), stop
            stored(zip, dir + "data.pkl", modulePickle());
            stored(zip, dir + "code/__torch__.py", code);
        }
        return out.toByteArray();
    }

    /**
     * Pickle (protocol 2) of a {@code __torch__.TitansMemory} object with the one attribute its class declares:
     * {@code training = True}; what torch.jit.save writes for a module without parameters.
     */
    private static byte[] modulePickle() {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.write(0x80);
        p.write(2);                                                   // PROTO 2
        p.writeBytes(("c__torch__\n" + NAME + "\n").getBytes(StandardCharsets.US_ASCII));   // GLOBAL
        p.writeBytes(new byte[] {'q', 0, ')', (byte) 0x81, '}', '('});  // BINPUT 0, (), NEWOBJ, {}, MARK
        byte[] key = "training".getBytes(StandardCharsets.US_ASCII);
        p.write('X');                                                 // BINUNICODE
        p.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(key.length).array());
        p.writeBytes(key);
        p.writeBytes(new byte[] {'q', 1, (byte) 0x88, 'u', 'b', 'q', 2, '.'});   // BINPUT, True, SETITEMS, BUILD, STOP
        return p.toByteArray();
    }

    private static void stored(ZipOutputStream zip, String name, byte[] bytes) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(bytes.length);
        e.setCompressedSize(bytes.length);
        CRC32 crc = new CRC32();
        crc.update(bytes);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(bytes);
        zip.closeEntry();
    }
}
