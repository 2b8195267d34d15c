package dev.scone.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.util.PairList;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AdamWTest {

    private static final Shape[] SHAPES = {new Shape(6, 4), new Shape(5), new Shape(2, 3, 2), new Shape(1)};
    private static final float BETA1 = 0.9f;
    private static final float BETA2 = 0.95f;
    private static final float EPSILON = 1e-8f;
    private static final float DECAY = 0.1f;

    private static PairList<String, Parameter> parameters(NDManager m, long seed) {
        m.getEngine().setRandomSeed((int) seed);
        PairList<String, Parameter> list = new PairList<>();
        for (int i = 0; i < SHAPES.length; i++) {
            Parameter p = Parameter.builder().setName("p" + i).setType(Parameter.Type.WEIGHT).build();
            p.setArray(m.randomNormal(SHAPES[i]));
            list.add("p" + i, p);
        }
        return list;
    }

    private static List<NDArray> gradients(NDManager m, int step) {
        m.getEngine().setRandomSeed(1000 + step);
        List<NDArray> g = new ArrayList<>();
        for (Shape s : SHAPES) {
            g.add(m.randomNormal(s).mul(step % 2 == 0 ? 0.01f : 3f));
        }
        return g;
    }

    /** The per-parameter update, written out as the formula in AdamW's documentation. */
    private static void referenceStep(List<NDArray> weights, List<NDArray[]> moments, List<NDArray> grads, int t,
            float lr) {
        double bc1 = 1 - Math.pow(BETA1, t);
        double bc2 = 1 - Math.pow(BETA2, t);
        float stepSize = (float) (lr / bc1);
        float sqrtBc2 = (float) Math.sqrt(bc2);
        for (int i = 0; i < weights.size(); i++) {
            NDArray w = weights.get(i);
            NDArray g = grads.get(i);
            NDArray m = moments.get(i)[0];
            NDArray v = moments.get(i)[1];
            if (w.getShape().dimension() >= 2) {
                w.muli(1 - lr * DECAY);
            }
            m.muli(BETA1).addi(g.mul(1 - BETA1));
            v.muli(BETA2).addi(g.square().muli(1 - BETA2));
            w.subi(m.div(v.sqrt().divi(sqrtBc2).addi(EPSILON)).muli(stepSize));
        }
    }

    @Test
    void theFlatUpdateIsThePerParameterFormulaBitForBit() {
        try (NDManager m = NDManager.newBaseManager(); AdamW adam = new AdamW(m, BETA1, BETA2, EPSILON, DECAY)) {
            PairList<String, Parameter> params = parameters(m, 3);
            List<NDArray> reference = new ArrayList<>();
            List<NDArray[]> moments = new ArrayList<>();
            for (Shape s : SHAPES) {
                moments.add(new NDArray[] {m.zeros(s), m.zeros(s)});
            }
            for (int i = 0; i < SHAPES.length; i++) {
                reference.add(params.get(i).getValue().getArray().duplicate());
            }
            for (int t = 1; t <= 6; t++) {
                float lr = 1e-3f * t;
                List<NDArray> g = gradients(m, t);
                try (NDManager scope = m.newSubManager()) {
                    adam.step(params, AdamW.flatten(g), lr, scope);
                }
                referenceStep(reference, moments, g, t, lr);
                for (int i = 0; i < SHAPES.length; i++) {
                    assertArrayEquals(reference.get(i).toFloatArray(), params.get(i).getValue().getArray().toFloatArray(),
                            0f, "parameter " + i + " after step " + t);
                }
            }
            assertEquals(6, adam.updates());
        }
    }

    @Test
    void savedStateContinuesExactly() throws IOException {
        try (NDManager m = NDManager.newBaseManager();
                AdamW first = new AdamW(m, BETA1, BETA2, EPSILON, DECAY);
                AdamW second = new AdamW(m, BETA1, BETA2, EPSILON, DECAY)) {
            PairList<String, Parameter> a = parameters(m, 5);
            PairList<String, Parameter> b = parameters(m, 5);
            for (int t = 1; t <= 3; t++) {
                try (NDManager scope = m.newSubManager()) {
                    first.step(a, AdamW.flatten(gradients(m, t)), 1e-2f, scope);
                    second.step(b, AdamW.flatten(gradients(m, t)), 1e-2f, scope);
                }
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                first.writeState(out);
            }
            try (AdamW resumed = new AdamW(m, BETA1, BETA2, EPSILON, DECAY)) {
                resumed.readState(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())), b);
                assertEquals(3, resumed.updates());
                for (int t = 4; t <= 5; t++) {
                    try (NDManager scope = m.newSubManager()) {
                        first.step(a, AdamW.flatten(gradients(m, t)), 1e-2f, scope);
                        resumed.step(b, AdamW.flatten(gradients(m, t)), 1e-2f, scope);
                    }
                }
                for (int i = 0; i < SHAPES.length; i++) {
                    assertArrayEquals(a.get(i).getValue().getArray().toFloatArray(),
                            b.get(i).getValue().getArray().toFloatArray(), 0f, "parameter " + i);
                }
            }
        }
    }

    @Test
    void aGradientOfAnotherLayoutIsRefused() {
        try (NDManager m = NDManager.newBaseManager(); AdamW adam = new AdamW(m, BETA1, BETA2, EPSILON, DECAY)) {
            PairList<String, Parameter> params = parameters(m, 1);
            try (NDManager scope = m.newSubManager()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> adam.step(params, m.zeros(new Shape(7)), 1e-3f, scope));
                assertTrue(e.getMessage().contains("4 parameters hold 42 values"), e.getMessage());
                adam.step(params, AdamW.flatten(gradients(m, 1)), 1e-3f, scope);
                PairList<String, Parameter> fewer = new PairList<>();
                for (int i = 0; i < 3; i++) {
                    fewer.add(params.get(i));
                }
                e = assertThrows(IllegalArgumentException.class,
                        () -> adam.step(fewer, m.zeros(new Shape(41)), 1e-3f, scope));
                assertTrue(e.getMessage().contains("3 parameters but the optimizer holds moments of 4"), e.getMessage());
            }
        }
    }
}
