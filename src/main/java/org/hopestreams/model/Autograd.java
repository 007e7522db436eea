package org.hopestreams.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Gradients without DJL's GradientCollector, which allows one collector per JVM: PyTorch's grad
 * mode is per thread, so every stream thread (and every query thread) can hold its own.
 *
 * <p>Also makes <em>views</em>: a detached array that shares storage with a long-lived array but
 * belongs to a short-lived manager. All computation goes through views, so every intermediate
 * array belongs to the caller's scoped manager and is freed when it closes, whichever thread made
 * it; in-place updates of a view update the long-lived array.
 */
public final class Autograd {
    private Autograd() {
    }

    /** Turns gradient recording on or off for the calling thread; returns the previous setting. */
    public static boolean setRecording(boolean on) {
        boolean was = JniUtils.isGradMode();
        JniUtils.setGradMode(on);
        return was;
    }

    /** Back-propagates a scalar; gradients accumulate into leaves that require them. */
    public static void backward(NDArray scalar) {
        NDArray seed = scalar.onesLike();
        JniUtils.backward((PtNDArray) scalar, (PtNDArray) seed, false, false);
    }

    /** A view of {@code array} owned by {@code manager}. */
    public static NDArray view(NDArray array, NDManager manager) {
        NDArray v = array.stopGradient();
        v.attach(manager);
        return v;
    }

    /** Views of every array of a map, in order, owned by {@code manager}. */
    public static Map<String, NDArray> views(Map<String, NDArray> arrays, NDManager manager, boolean requireGradients) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        arrays.forEach((k, a) -> {
            NDArray v = view(a, manager);
            if (requireGradients) {
                v.setRequiresGradient(true);
            }
            out.put(k, v);
        });
        return out;
    }
}
