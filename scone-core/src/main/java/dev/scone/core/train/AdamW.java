package dev.scone.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter), whose state can be saved and restored
 * exactly. Per parameter value, with gradient g, step t (1-based) and learning rate lr:
 * <pre>
 *   w &lt;- w * (1 - lr * weightDecay)          (only parameters of rank &gt;= 2: no decay for biases and norms)
 *   m &lt;- beta1 * m + (1 - beta1) * g
 *   v &lt;- beta2 * v + (1 - beta2) * g^2
 *   w &lt;- w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)
 * </pre>
 *
 * <p>The moments of all parameters live in two flat arrays, in the order of the parameter list, and
 * the update takes the gradients as one flat array ({@link #flatten}) of the same layout: the
 * moment and step arithmetic is a handful of element-wise operations over every value at once
 * instead of a dozen per parameter, and only the final weight decay and subtraction touch each
 * parameter. Every value goes through the same float32 operations as a per-parameter update, so
 * the result is the same bit for bit.
 *
 * <p>Why not DJL's {@code Optimizer.adamW()}: it keeps its moments in private maps keyed by DJL's
 * random per-instance parameter ids, so they cannot be written to a checkpoint, and a resumed run
 * would restart the moments from zero. This class keys the moments by parameter name and
 * {@link #writeState}/{@link #readState} them bit for bit (per parameter, the layout checkpoints
 * have always had).
 *
 * <p>The moments live in this object's own NDManager; {@link #close()} frees them.
 */
public final class AdamW implements AutoCloseable {

    private final NDManager manager;
    private final float beta1;
    private final float beta2;
    private final float epsilon;
    private final float weightDecay;
    private Layout layout; // fixed by the first step or readState
    private NDArray firstMoment; // (total), null until the layout is fixed
    private NDArray secondMoment;
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
     * The gradients as one flat array, in the order given: the layout {@link #step} takes.
     *
     * @param gradients the gradient of each parameter, in the order of the parameter list
     * @return (total values), a new array in the first gradient's manager
     * @throws IllegalArgumentException when there are no gradients
     */
    public static NDArray flatten(List<NDArray> gradients) {
        if (gradients.isEmpty()) {
            throw new IllegalArgumentException("no gradients to flatten");
        }
        NDList flat = new NDList(gradients.size());
        for (NDArray g : gradients) {
            flat.add(g.reshape(-1));
        }
        return flat.size() == 1 ? flat.get(0).duplicate() : NDArrays.concat(flat, 0);
    }

    /**
     * Takes one update of every parameter. Intermediates are created under {@code scope}, which
     * the caller closes (one scope per training step).
     *
     * @param parameters (name, parameter) of every trainable parameter, same names and shapes every call
     * @param gradient the gradients of all parameters as one flat array ({@link #flatten}), same order
     * @param learningRate this update's learning rate
     * @param scope a manager for this update's temporary arrays
     * @throws IllegalArgumentException when the parameters or the gradient's size differ from the layout
     */
    public void step(PairList<String, Parameter> parameters, NDArray gradient, float learningRate, NDManager scope) {
        ensureOpen();
        Layout l = layoutFor(parameters);
        if (gradient.getShape().dimension() != 1 || gradient.getShape().get(0) != l.total) {
            throw new IllegalArgumentException("gradient has shape " + gradient.getShape() + " but the "
                    + l.names.length + " parameters hold " + l.total + " values");
        }
        if (firstMoment == null) {
            firstMoment = manager.zeros(new Shape(l.total), gradient.getDataType());
            secondMoment = manager.zeros(new Shape(l.total), gradient.getDataType());
        }
        updates++;
        double bc1 = 1 - Math.pow(beta1, updates);
        double bc2 = 1 - Math.pow(beta2, updates);
        float stepSize = (float) (learningRate / bc1);
        float sqrtBc2 = (float) Math.sqrt(bc2);
        try (NDManager local = scope.newSubManager()) {
            NDArray m = firstMoment;
            NDArray v = secondMoment;
            m.tempAttach(local);
            v.tempAttach(local);
            m.muli(beta1).addi(gradient.mul(1 - beta1));
            v.muli(beta2).addi(gradient.square().muli(1 - beta2));
            NDArray denom = v.sqrt().divi(sqrtBc2).addi(epsilon);
            NDArray delta = m.div(denom).muli(stepSize);
            NDList parts = l.names.length == 1 ? new NDList(delta) : delta.split(l.splitPoints());
            for (int i = 0; i < l.names.length; i++) {
                // The parameter is a leaf that requires a gradient: update its data through a detached
                // view, which is allowed whatever the thread's autograd mode is.
                NDArray w = parameters.get(i).getValue().getArray().stopGradient();
                w.attach(local);
                if (weightDecay > 0 && l.shapes[i].dimension() >= 2) {
                    w.muli(1 - learningRate * weightDecay);
                }
                w.subi(parts.get(i).reshape(l.shapes[i]));
            }
        }
    }

    /**
     * Writes the step count and every moment (name, then DJL-encoded m and v, each in its parameter's
     * shape).
     *
     * @param out the stream
     * @throws IOException on write failure
     */
    public void writeState(DataOutputStream out) throws IOException {
        ensureOpen();
        out.writeLong(updates);
        if (firstMoment == null) {
            out.writeInt(0);
            return;
        }
        out.writeInt(layout.names.length);
        try (NDManager scope = manager.newSubManager()) {
            for (int i = 0; i < layout.names.length; i++) {
                out.writeUTF(layout.names[i]);
                for (NDArray flat : new NDArray[] {firstMoment, secondMoment}) {
                    NDArray part = flat.get(new NDIndex(layout.offsets[i] + ":" + layout.offsets[i + 1]));
                    part.attach(scope);
                    byte[] b = part.reshape(layout.shapes[i]).encode();
                    out.writeInt(b.length);
                    out.write(b);
                }
            }
        }
    }

    /**
     * Replaces the state with one written by {@link #writeState}, checked against the parameters.
     * Parameters the state does not name start from zero moments.
     *
     * @param in the stream
     * @param parameters the parameters the state must belong to, in the order later steps give them
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
        Layout l = Layout.of(parameters);
        NDArray m = null;
        NDArray v = null;
        try (NDManager scope = manager.newSubManager()) {
            Map<String, NDArray[]> loaded = new LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                String name = in.readUTF();
                NDArray[] mv = new NDArray[2];
                for (int k = 0; k < 2; k++) {
                    int len = in.readInt();
                    if (len < 0 || len > Integer.MAX_VALUE - 16) {
                        throw new IllegalArgumentException("optimizer state of " + name + " has length " + len);
                    }
                    byte[] b = new byte[len];
                    in.readFully(b);
                    mv[k] = scope.decode(b);
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
                loaded.put(name, mv);
            }
            if (n > 0) {
                List<NDArray> ms = new ArrayList<>(l.names.length);
                List<NDArray> vs = new ArrayList<>(l.names.length);
                for (int i = 0; i < l.names.length; i++) {
                    NDArray[] mv = loaded.get(l.names[i]);
                    NDArray[] pair = mv != null ? mv : new NDArray[] {scope.zeros(l.shapes[i]), scope.zeros(l.shapes[i])};
                    ms.add(pair[0]);
                    vs.add(pair[1]);
                }
                m = flatten(ms); // the layout step's gradients have
                v = flatten(vs);
                m.attach(manager);
                v.attach(manager);
            }
        }
        if (firstMoment != null) {
            firstMoment.close();
            secondMoment.close();
        }
        firstMoment = m;
        secondMoment = v;
        layout = l;
        updates = u;
    }

    private Layout layoutFor(PairList<String, Parameter> parameters) {
        if (layout == null) {
            layout = Layout.of(parameters);
        } else {
            layout.check(parameters);
        }
        return layout;
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

    /** Where each parameter's values sit in the flat arrays. */
    private static final class Layout {
        final String[] names;
        final Shape[] shapes;
        final long[] offsets; // names.length + 1 entries, offsets[0] = 0
        final long total;

        private Layout(String[] names, Shape[] shapes, long[] offsets) {
            this.names = names;
            this.shapes = shapes;
            this.offsets = offsets;
            this.total = offsets[names.length];
        }

        static Layout of(PairList<String, Parameter> parameters) {
            if (parameters.isEmpty()) {
                throw new IllegalArgumentException("no parameters to optimize");
            }
            int n = parameters.size();
            String[] names = new String[n];
            Shape[] shapes = new Shape[n];
            long[] offsets = new long[n + 1];
            for (int i = 0; i < n; i++) {
                names[i] = parameters.get(i).getKey();
                shapes[i] = parameters.get(i).getValue().getArray().getShape();
                offsets[i + 1] = offsets[i] + shapes[i].size();
            }
            return new Layout(names, shapes, offsets);
        }

        void check(PairList<String, Parameter> parameters) {
            if (parameters.size() != names.length) {
                throw new IllegalArgumentException(parameters.size() + " parameters but the optimizer holds moments of "
                        + names.length);
            }
            for (int i = 0; i < names.length; i++) {
                Pair<String, Parameter> p = parameters.get(i);
                if (!p.getKey().equals(names[i]) || !p.getValue().getArray().getShape().equals(shapes[i])) {
                    throw new IllegalArgumentException("parameter " + i + " is " + p.getKey() + " "
                            + p.getValue().getArray().getShape() + " but the optimizer's state is for " + names[i]
                            + " " + shapes[i]);
                }
            }
        }

        /** @return the offsets at which the flat array splits into the parameters */
        long[] splitPoints() {
            return java.util.Arrays.copyOfRange(offsets, 1, names.length);
        }
    }
}
