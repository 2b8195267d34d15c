package dev.scone.store;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.nio.file.Path;

/** Child-JVM main for {@link ChronicleValueClassesTest}: writes a small store, opens it and reads every f-gram. */
public final class StoreOpenChild {

    private StoreOpenChild() {}

    /**
     * @param args the store folder to create
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        FgramVocabulary vocab = StoreFixtures.vocabulary(300, 1);
        StoreFixtures.write(Path.of(args[0]), vocab, StoreFixtures.vectors(300, 2), VectorDtype.FLOAT32);
        int found = 0;
        try (FgramStore store = FgramStore.open(Path.of(args[0]))) {
            for (int id = 0; id < vocab.size(); id++) {
                int[] g = vocab.tokens(id);
                if (store.find(g, 0, g.length) == id) {
                    found++;
                }
            }
        }
        System.out.println("FOUND=" + found + " OUTCOMES=" + ChronicleValueClasses.install());
    }
}
