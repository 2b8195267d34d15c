package dev.scone.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter), whose state can be saved and restored
 * exactly. Per parameter, with gradient g, step t (1-based) and learning rate lr:
 * <pre>
 *   w &lt;- w * (1 - lr * weightDecay)          (only parameters of rank &gt;= 2: no decay for biases and norms)
 *   m &lt;- beta1 * m + (1 - beta1) * g
 *   v &lt;- beta2 * v + (1 - beta2) * g^2
 *   w &lt;- w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)
 * </pre>
 *
 * <p>Why not DJL's {@code Optimizer.adamW()}: it keeps its moments in private maps keyed by DJL's
 * random per-instance parameter ids, so they cannot be written to a checkpoint, and a resumed run
 * would restart the moments from zero. This class keys the moments by parameter name and
 * {@link #writeState}/{@link #readState} them bit for bit.
 *
 * <p>The moments live in this object's own NDManager; {@link #close()} frees them.
 */
public final class AdamW implements AutoCloseable {

    private final NDManager manager;
    private final float beta1;
    private final float beta2;
    private final float epsilon;
    private final float weightDecay;
    private final Map<String, NDArray[]> moments = new LinkedHashMap<>();
    private long updates;
    private boolean closed;

    /**
     * @param parent the manager under which the moments live
     * @param beta1 first-moment decay, in [0, 1)
     * @param beta2 second-moment decay, in [0, 1)
     * @param epsilon denominator term, &gt; 0
     * @param weightDecay decoupled weight decay, &gt;= 0
     */
    public AdamW(NDManager parent, float beta1, float beta2, float epsilon, float weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("betas must be in [0, 1), got " + beta1 + ", " + beta2);
        }
        if (!(epsilon > 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("epsilon must be > 0 and weightDecay >= 0, got " + epsilon + ", "
                    + weightDecay);
        }
        this.manager = parent.newSubManager();
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
        this.weightDecay = weightDecay;
    }

    /** @return the number of updates taken (t of the last update) */
    public long updates() {
        return updates;
    }

    /**
     * Takes one update of every parameter. Intermediates are created under {@code scope}, which
     * the caller closes (one scope per training step).
     *
     * @param parameters (name, parameter) of every trainable parameter, same names every call
     * @param gradients the gradient of each parameter, same order
     * @param learningRate this update's learning rate
     * @param scope a manager for this update's temporary arrays
     */
    public void step(PairList<String, Parameter> parameters, List<NDArray> gradients, float learningRate,
            NDManager scope) {
        ensureOpen();
        if (parameters.size() != gradients.size()) {
            throw new IllegalArgumentException(parameters.size() + " parameters but " + gradients.size() + " gradients");
        }
        updates++;
        double bc1 = 1 - Math.pow(beta1, updates);
        double bc2 = 1 - Math.pow(beta2, updates);
        float stepSize = (float) (learningRate / bc1);
        float sqrtBc2 = (float) Math.sqrt(bc2);
        for (int i = 0; i < parameters.size(); i++) {
            Pair<String, Parameter> p = parameters.get(i);
            NDArray weight = p.getValue().getArray();
            NDArray g = gradients.get(i);
            NDArray[] mv = moments.computeIfAbsent(p.getKey(), k -> new NDArray[] {
                manager.zeros(weight.getShape(), weight.getDataType()),
                manager.zeros(weight.getShape(), weight.getDataType())});
            if (!mv[0].getShape().equals(weight.getShape())) {
                throw new IllegalStateException("optimizer state of parameter " + p.getKey() + " has shape "
                        + mv[0].getShape() + " but the parameter has " + weight.getShape());
            }
            try (NDManager local = scope.newSubManager()) {
                // The parameter is a leaf that requires a gradient: update its data through a detached
                // view, which is allowed whatever the thread's autograd mode is.
                NDArray w = weight.stopGradient();
                w.attach(local);
                NDArray m = mv[0];
                NDArray v = mv[1];
                m.tempAttach(local);
                v.tempAttach(local);
                if (weightDecay > 0 && weight.getShape().dimension() >= 2) {
                    w.muli(1 - learningRate * weightDecay);
                }
                m.muli(beta1).addi(g.mul(1 - beta1));
                v.muli(beta2).addi(g.square().muli(1 - beta2));
                NDArray denom = v.sqrt().divi(sqrtBc2).addi(epsilon);
                w.subi(m.div(denom).muli(stepSize));
            }
        }
    }

    /**
     * Writes the step count and every moment (name, then DJL-encoded m and v).
     *
     * @param out the stream
     * @throws IOException on write failure
     */
    public void writeState(DataOutputStream out) throws IOException {
        ensureOpen();
        out.writeLong(updates);
        out.writeInt(moments.size());
        for (Map.Entry<String, NDArray[]> e : moments.entrySet()) {
            out.writeUTF(e.getKey());
            for (NDArray a : e.getValue()) {
                byte[] b = a.encode();
                out.writeInt(b.length);
                out.write(b);
            }
        }
    }

    /**
     * Replaces the state with one written by {@link #writeState}, checked against the parameters.
     *
     * @param in the stream
     * @param parameters the parameters the state must belong to
     * @throws IOException on read failure
     * @throws IllegalArgumentException when the state names an unknown parameter or a shape differs
     */
    public void readState(DataInputStream in, PairList<String, Parameter> parameters) throws IOException {
        ensureOpen();
        long u = in.readLong();
        int n = in.readInt();
        if (u < 0 || n < 0 || n > parameters.size()) {
            throw new IllegalArgumentException("optimizer state has " + n + " moments after " + u
                    + " updates, for a model of " + parameters.size() + " trainable parameters");
        }
        Map<String, Shape> shapes = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : parameters) {
            shapes.put(p.getKey(), p.getValue().getArray().getShape());
        }
        Map<String, NDArray[]> loaded = new LinkedHashMap<>();
        try {
            for (int i = 0; i < n; i++) {
                String name = in.readUTF();
                NDArray[] mv = new NDArray[2];
                loaded.put(name, mv);
                for (int k = 0; k < 2; k++) {
                    int len = in.readInt();
                    if (len < 0 || len > Integer.MAX_VALUE - 16) {
                        throw new IllegalArgumentException("optimizer state of " + name + " has length " + len);
                    }
                    byte[] b = new byte[len];
                    in.readFully(b);
                    mv[k] = manager.decode(b);
                }
                Shape want = shapes.get(name);
                if (want == null) {
                    throw new IllegalArgumentException("optimizer state names parameter '" + name
                            + "', which the model does not have");
                }
                if (!mv[0].getShape().equals(want) || !mv[1].getShape().equals(want)) {
                    throw new IllegalArgumentException("optimizer state of parameter '" + name + "' has shape "
                            + mv[0].getShape() + " but the parameter has " + want);
                }
            }
        } catch (IOException | RuntimeException e) {
            loaded.values().forEach(mv -> {
                for (NDArray a : mv) {
                    if (a != null) {
                        a.close();
                    }
                }
            });
            throw e;
        }
        moments.values().forEach(mv -> {
            mv[0].close();
            mv[1].close();
        });
        moments.clear();
        moments.putAll(loaded);
        updates = u;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("AdamW is closed");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            manager.close();
        }
    }
}
