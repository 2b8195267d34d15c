package dev.scone.store;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.nio.file.Path;

/** Child-JVM main for {@link FgramStoreTest}: writes half a store, then dies without cleaning up. */
public final class KilledWriterChild {

    /** The exit status of the simulated crash. */
    static final int HALT_STATUS = 37;

    private KilledWriterChild() {}

    /**
     * @param args the target store folder
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        FgramVocabulary vocab = StoreFixtures.vocabulary(400, 1);
        float[] vectors = StoreFixtures.vectors(400, 2);
        FgramStoreWriter w = FgramStoreWriter.builder().setPath(Path.of(args[0])).optVocabulary(vocab)
                .setEmbeddingSize(StoreFixtures.D).build();
        for (int id = 0; id < 200; id++) {
            w.add(id, vectors, id * StoreFixtures.D);
        }
        System.out.flush();
        Runtime.getRuntime().halt(HALT_STATUS); // like kill -9: no finally block, no shutdown hook runs
    }
}
