package dev.scone.spark.count;

import dev.scone.fgram.count.DistributedScan;
import java.io.Serializable;

/**
 * The survivors of one scan as ascending keys: what the driver broadcasts so that later scans
 * prune and key their n-grams exactly as the single-machine counter does. The lookup index is
 * built where it is used, once per JVM.
 */
final class LevelKeys implements Serializable {

    private static final long serialVersionUID = 1L;

    final int n;
    final long[] keys;
    private transient volatile DistributedScan.Level level;

    /** @param level a level built on the driver (its sorted keys are shipped) */
    LevelKeys(DistributedScan.Level level, long[] sortedKeys) {
        this.n = level.n();
        this.keys = sortedKeys;
        this.level = level;
    }

    private LevelKeys(int n, long[] sortedKeys) {
        this.n = n;
        this.keys = sortedKeys;
    }

    /** @return a level received by a task (its index is built on first use) */
    static LevelKeys shipped(int n, long[] sortedKeys) {
        return new LevelKeys(n, sortedKeys);
    }

    /** @return the level, built on first use in this JVM (the shipped keys are ascending: checked, not sorted) */
    DistributedScan.Level level() {
        DistributedScan.Level l = level;
        if (l == null) {
            synchronized (this) {
                l = level;
                if (l == null) {
                    l = DistributedScan.Level.of(n, keys, keys.length);
                    level = l;
                }
            }
        }
        return l;
    }
}
