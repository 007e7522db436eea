package org.hopestreams.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Copies of engine arrays to the host leave nothing behind in the array's manager. A GPU is not
 * needed to prove the device path: an array that says it lives on a GPU is played by a real CPU
 * array whose {@code toByteBuffer} does what DJL 0.32's PyTorch engine does for a device array
 * ({@code JniUtils.getByteBuffer}: a CPU copy attached to the array's own manager, never closed).
 * That the real CUDA engine frees the copy is not proven here (no GPU native in the offline build).
 */
class HostTensorTest {
    private static final int COPIES = 200;

    @Test
    void copiesOfCpuArraysAllocateNothingInTheArraysManager() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray a = m.randomNormal(new ai.djl.ndarray.types.Shape(8, 16));
            int before = m.getManagedArrays().size();
            for (int i = 0; i < COPIES; i++) {
                HostTensor.of(a);
            }
            assertEquals(before, m.getManagedArrays().size());
        }
    }

    @Test
    void copiesOfDeviceArraysFreeTheirHostCopy() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray real = m.randomNormal(new ai.djl.ndarray.types.Shape(8, 16));
            NDArray onGpu = onGpu(real);
            HostTensor expected = HostTensor.of(real);
            int before = m.getManagedArrays().size();
            for (int i = 0; i < COPIES; i++) {
                assertArrayEquals(expected.bytes(), HostTensor.of(onGpu).bytes());
            }
            assertEquals(before, m.getManagedArrays().size(),
                    "host copies of a device array still attached to its manager after " + COPIES + " copies");
        }
    }

    /** {@code real}, seen as an array on GPU 0 whose engine copies it to the host the way DJL's PyTorch engine does. */
    private static NDArray onGpu(NDArray real) {
        return (NDArray) Proxy.newProxyInstance(NDArray.class.getClassLoader(), new Class<?>[] {NDArray.class},
                (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "getDevice":
                            return Device.gpu();
                        case "toByteBuffer":
                            return real.toDevice(Device.cpu(), true).toByteBuffer();
                        case "toDevice":
                            return real.toDevice((Device) args[0], true);
                        default:
                            try {
                                return method.invoke(real, args);
                            } catch (InvocationTargetException e) {
                                throw e.getCause();
                            }
                    }
                });
    }
}
