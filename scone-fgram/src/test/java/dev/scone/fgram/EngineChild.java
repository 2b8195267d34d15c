package dev.scone.fgram;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** Child-JVM main for {@link FoundationSmokeTest}: loads the PyTorch engine and computes. */
public final class EngineChild {

    private EngineChild() {}

    /**
     * Prints the engine name and a small result.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        Engine engine = Engine.getInstance();
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.create(new float[] {1f, 2f, 3f});
            float s = a.mul(a).sum().getFloat();
            System.out.println("ENGINE=" + engine.getEngineName() + " VERSION=" + engine.getVersion() + " SUM=" + s);
        }
    }
}
