package dev.scone.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * A stable fingerprint of a block's weights: 32 hex digits of SHA-256 over every parameter's
 * name (relative to the block), shape and float32 bit pattern, parameters in name order. Equal
 * weights give equal fingerprints on any machine and in any process; changing one bit of one
 * weight changes it. Stores of precomputed vectors record it so that they are never used with
 * other weights.
 */
public final class ParameterFingerprint {

    private static final long CHUNK_ELEMENTS = 1 << 20;

    private ParameterFingerprint() {}

    /**
     * Fingerprints a block's parameters.
     *
     * @param block an initialized block
     * @return 32 lower-case hex digits
     * @throws IllegalStateException when a parameter is not initialized
     */
    public static String of(Block block) {
        Objects.requireNonNull(block, "block");
        return of(block.getParameters());
    }

    /**
     * Fingerprints named parameters (for instance a block's minus some of them).
     *
     * @param parameters (name, parameter) pairs, each initialized
     * @return 32 lower-case hex digits
     * @throws IllegalStateException when a parameter is not initialized
     */
    public static String of(Iterable<Pair<String, Parameter>> parameters) {
        Objects.requireNonNull(parameters, "parameters");
        List<Pair<String, Parameter>> params = new ArrayList<>();
        parameters.forEach(params::add);
        params.sort(Comparator.comparing(Pair::getKey));
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
        ByteBuffer buf = ByteBuffer.allocate(4 * (int) CHUNK_ELEMENTS).order(ByteOrder.LITTLE_ENDIAN);
        for (Pair<String, Parameter> p : params) {
            Parameter param = p.getValue();
            if (!param.isInitialized()) {
                throw new IllegalStateException("parameter " + p.getKey() + " is not initialized");
            }
            NDArray array = param.getArray();
            byte[] name = p.getKey().getBytes(StandardCharsets.UTF_8);
            long[] shape = array.getShape().getShape();
            buf.clear();
            buf.putInt(name.length).put(name).putInt(shape.length);
            for (long s : shape) {
                buf.putLong(s);
            }
            buf.flip();
            md.update(buf);
            long size = array.size();
            try (NDManager scope = array.getManager().newSubManager()) {
                NDArray flat = array.reshape(size);
                flat.attach(scope);
                for (long from = 0; from < size; from += CHUNK_ELEMENTS) {
                    long to = Math.min(size, from + CHUNK_ELEMENTS);
                    NDArray part = size <= CHUNK_ELEMENTS ? flat : flat.get(new NDIndex("{}:{}", from, to));
                    part.attach(scope);
                    float[] values = part.toType(DataType.FLOAT32, false).toFloatArray();
                    buf.clear();
                    buf.asFloatBuffer().put(values);
                    buf.limit(4 * values.length);
                    md.update(buf);
                }
            }
        }
        return HexFormat.of().formatHex(md.digest(), 0, 16);
    }
}
