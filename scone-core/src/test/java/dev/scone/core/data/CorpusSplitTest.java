package dev.scone.core.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.core.testing.Fixtures;
import dev.scone.fgram.corpus.TokenCorpus;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CorpusSplitTest {

    private final TokenCorpus corpus = Fixtures.markovCorpus(21, 40, 5, 60, 10);

    @Test
    void randomSplitIsDeterministicDisjointAndComplete() {
        CorpusSplit a = CorpusSplit.randomDocuments(corpus, 0.25, 42);
        CorpusSplit b = CorpusSplit.randomDocuments(corpus, 0.25, 42);
        CorpusSplit c = CorpusSplit.randomDocuments(corpus, 0.25, 43);
        assertArrayEquals(a.training().baseDocuments(), b.training().baseDocuments());
        assertArrayEquals(a.validation().baseDocuments(), b.validation().baseDocuments());
        assertFalse(Arrays.equals(a.validation().baseDocuments(), c.validation().baseDocuments()));
        assertEquals(10, a.validation().documentCount());
        Set<Integer> all = new HashSet<>();
        for (int d : a.training().baseDocuments()) {
            assertTrue(all.add(d));
        }
        for (int d : a.validation().baseDocuments()) {
            assertTrue(all.add(d), "document " + d + " is in both parts");
        }
        assertEquals(corpus.documentCount(), all.size());
        assertEquals(corpus.tokenCount(), a.training().tokenCount() + a.validation().tokenCount());
        int d0 = a.validation().baseDocument(0);
        assertArrayEquals(corpus.document(d0), a.validation().document(0));
        assertSame(a.training(), a.corpusForFgramCounting());
    }

    @Test
    void lastDocumentsHoldsOutTheTail() {
        CorpusSplit s = CorpusSplit.lastDocuments(corpus, 5);
        assertArrayEquals(new int[] {35, 36, 37, 38, 39}, s.validation().baseDocuments());
        assertEquals(35, s.training().documentCount());
        assertEquals(34, s.training().baseDocument(34));
    }

    @Test
    void vocabularyMustBeCountedOnTheTrainingSplit() {
        CorpusSplit s = CorpusSplit.lastDocuments(corpus, 8);
        FgramVocabulary fromTraining = Fixtures.countVocabulary(s.corpusForFgramCounting(), 3, 3);
        s.requireCountedOnTraining(fromTraining);
        FgramVocabulary fromAll = Fixtures.countVocabulary(corpus, 3, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> s.requireCountedOnTraining(fromAll));
        assertTrue(e.getMessage().contains("not counted on the training split alone"), e.getMessage());
    }

    @Test
    void badArgumentsGetPreciseExceptions() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CorpusSplit.randomDocuments(corpus, 1.0, 1));
        assertTrue(e.getMessage().contains("validationFraction must be in (0, 1), got 1.0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CorpusSplit.lastDocuments(corpus, 40));
        assertTrue(e.getMessage().contains("[1, 40), got 40"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new DocumentSubset(corpus, new int[] {1, 1}));
        assertTrue(e.getMessage().contains("appears twice"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new DocumentSubset(corpus, new int[] {40}));
        assertTrue(e.getMessage().contains("outside [0, 40)"), e.getMessage());
    }
}
