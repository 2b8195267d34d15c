package dev.scone.spark.count;

import dev.scone.fgram.count.DistributedScan;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.broadcast.Broadcast;

/**
 * The broadcast survivor levels that tasks read, by length (none where a level was not
 * broadcast), with the token vocabulary size that fixes the key layout.
 */
final class LevelHandles implements Serializable {

    private static final long serialVersionUID = 1L;

    private final int vocabularySize;
    private final ArrayList<Broadcast<LevelKeys>> byLength;

    LevelHandles(int vocabularySize, List<Broadcast<LevelKeys>> byLength) {
        this.vocabularySize = vocabularySize;
        this.byLength = new ArrayList<>(byLength);
    }

    /** @return the key layout */
    DistributedScan scan() {
        return new DistributedScan(vocabularySize);
    }

    /** @return the broadcast levels by length (null entries where none was broadcast) */
    DistributedScan.Level[] levels() {
        DistributedScan.Level[] out = new DistributedScan.Level[byLength.size()];
        for (int m = 0; m < out.length; m++) {
            Broadcast<LevelKeys> b = byLength.get(m);
            out[m] = b == null ? null : b.value().level();
        }
        return out;
    }
}
