package dev.scone.examples.bench;

import dev.scone.core.FgramEmbeddingTable;
import java.util.Objects;

/**
 * An {@link FgramEmbeddingTable} that passes every call to another one and adds up the wall time
 * its lookups take. Decoding without the key/value cache looks the store up inside the model's
 * forward pass, where the generator's own statistics cannot tell it apart from the model; this is
 * how the benchmark splits it out there. It costs two clock reads per lookup.
 *
 * <p>It does not own the table: {@link #close()} leaves it open for its owner to close.
 */
final class TimedTable implements FgramEmbeddingTable {

    private final FgramEmbeddingTable table;
    private long nanos;

    /** @param table the table to time */
    TimedTable(FgramEmbeddingTable table) {
        this.table = Objects.requireNonNull(table, "table");
    }

    /** @return nanoseconds spent in {@link #lookup} and {@link #lookupLast} since the last {@link #reset()} */
    long nanos() {
        return nanos;
    }

    /** Forgets the time measured so far. */
    void reset() {
        nanos = 0;
    }

    @Override
    public int embeddingSize() {
        return table.embeddingSize();
    }

    @Override
    public int maxN() {
        return table.maxN();
    }

    @Override
    public long size() {
        return table.size();
    }

    @Override
    public String fgramModelFingerprint() {
        return table.fgramModelFingerprint();
    }

    @Override
    public int lookup(int[] tokenIds, int rows, int length, float[] vectors, int[] matchLengths) {
        long t0 = System.nanoTime();
        try {
            return table.lookup(tokenIds, rows, length, vectors, matchLengths);
        } finally {
            nanos += System.nanoTime() - t0;
        }
    }

    @Override
    public int lookupLast(int[] tokenIds, int[] offsets, int[] lengths, int rows, float[] vectors,
            int[] matchLengths) {
        long t0 = System.nanoTime();
        try {
            return table.lookupLast(tokenIds, offsets, lengths, rows, vectors, matchLengths);
        } finally {
            nanos += System.nanoTime() - t0;
        }
    }

    /** Does nothing: the wrapped table belongs to whoever opened it. */
    @Override
    public void close() {
        // not owned
    }
}
