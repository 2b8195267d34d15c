package dev.scone.store;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Child-JVM main for {@link StoreConcurrencyTest}: opens a store, cuts one of its files to a
 * third of its size (whole pages) while it is open, as another process might, then looks up every
 * f-gram, the last rows first.
 * Prints {@code REFUSED: message} when a lookup throws {@link FgramStoreCorruptedException}, or
 * {@code ALL FOUND}; a JVM that dies of the mapping's fault prints neither.
 */
public final class ShrinkingFileChild {

    private ShrinkingFileChild() {}

    /**
     * @param args the store folder; the size and seed of its {@link StoreFixtures#vocabulary};
     *     the file to cut ({@code vectors.bin} or {@code index.cm})
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        FgramVocabulary vocab = StoreFixtures.vocabulary(Integer.parseInt(args[1]), Long.parseLong(args[2]));
        try (FgramStore store = FgramStore.open(dir)) {
            try (FileChannel ch = FileChannel.open(dir.resolve(args[3]), StandardOpenOption.WRITE)) {
                ch.truncate(Math.max(4096, (ch.size() / 3) & ~4095L)); // whole pages gone: reading them faults
            }
            float[] out = new float[store.embeddingSize()];
            for (int id = vocab.size() - 1; id >= 0; id--) { // the last rows first: they lie in the pages cut off
                int[] g = vocab.tokens(id);
                store.lookup(g, 0, g.length, out, 0);
            }
            System.out.println("ALL FOUND");
        } catch (FgramStoreCorruptedException e) {
            System.out.println("REFUSED: " + e.getMessage());
        }
    }
}
