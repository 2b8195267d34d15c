package dev.scone.store;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Child-JVM main for {@link StoreConcurrencyTest}: serves lookups of every f-gram of a store from
 * Chronicle Map itself (so that each one takes and releases a segment lock in the index file)
 * until a stop file appears (or two minutes pass), then prints how many it made.
 */
public final class LookupSpinner {

    private LookupSpinner() {}

    /**
     * @param args the store folder; the size and seed of the {@link StoreFixtures#vocabulary} it
     *     holds; the stop file
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        FgramVocabulary vocab = StoreFixtures.vocabulary(Integer.parseInt(args[1]), Long.parseLong(args[2]));
        Path stop = Path.of(args[3]);
        long deadline = System.nanoTime() + 120_000_000_000L;
        long lookups = 0;
        try (FgramStore store = FgramStore.open(Path.of(args[0]))) {
            System.out.println("READY");
            System.out.flush();
            float[] out = new float[store.embeddingSize()];
            while (!Files.exists(stop) && System.nanoTime() < deadline) {
                for (int id = 0; id < vocab.size(); id++) {
                    int[] g = vocab.tokens(id);
                    if (store.lookup(g, 0, g.length, out, 0) != id) {
                        throw new IllegalStateException("f-gram " + id + " not found");
                    }
                    lookups++;
                }
            }
        }
        System.out.println("LOOKUPS=" + lookups);
    }
}
