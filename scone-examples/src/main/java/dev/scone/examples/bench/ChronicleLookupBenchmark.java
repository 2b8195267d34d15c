package dev.scone.examples.bench;

import dev.scone.fgram.io.Temporaries;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
import it.unimi.dsi.fastutil.longs.LongOpenHashSet;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.LongToIntFunction;
import net.openhft.chronicle.algo.hashing.LongHashFunction;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.bytes.RandomDataInput;
import net.openhft.chronicle.bytes.RandomDataOutput;
import net.openhft.chronicle.core.Memory;
import net.openhft.chronicle.core.OS;
import net.openhft.chronicle.hash.AbstractData;
import net.openhft.chronicle.hash.Data;
import net.openhft.chronicle.hash.impl.BigSegmentHeader;
import net.openhft.chronicle.hash.impl.CompactOffHeapLinearHashTable;
import net.openhft.chronicle.hash.impl.HashSplitting;
import net.openhft.chronicle.hash.impl.VanillaChronicleHash;
import net.openhft.chronicle.hash.serialization.DataAccess;
import net.openhft.chronicle.hash.serialization.SizedReader;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;
import net.openhft.chronicle.map.VanillaChronicleMap;
import net.openhft.chronicle.wire.WireIn;
import net.openhft.chronicle.wire.WireOut;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What one query of a persisted Chronicle Map costs, and where the time goes: the study behind
 * scone-store's lock-free index reader. A map laid out as a store's index (8-byte keys, 4-byte
 * row values, no entry checksums) is queried for random hits and misses through Chronicle Map's
 * {@code getUsing} with {@code byte[]} keys and values (what the store used before), through
 * {@code getUsing} with a reusable native key and value object (a custom {@code DataAccess}, no
 * allocation), by reading Chronicle's layout directly (hash, segment, hash-lookup slot, entry;
 * the way scone-store's {@code ChronicleFgramIndex} reads it, here without its bounds checks,
 * extra tiers and own mappings) without and with the segment read lock Chronicle takes, and, as
 * the floor, an in-heap fastutil map. Per segment count. One thread, warm; figures per query.
 */
@Command(name = "chronicle-lookup-bench", mixinStandardHelpOptions = true,
        description = "Time the ways of querying a persisted Chronicle Map laid out as a store's index.")
public final class ChronicleLookupBenchmark implements Callable<Integer> {

    @Option(names = "--entries", description = "Entries (default: ${DEFAULT-VALUE}).")
    int entries = 1_000_000;

    @Option(names = "--queries", description = "Queries per timed pass (default: ${DEFAULT-VALUE}).")
    int queries = 1 << 21;

    @Option(names = "--segments", split = ",", description = "Segment counts; 0 is Chronicle's own choice"
            + " (default: 0,1,16,1024).")
    List<Integer> segments = List.of(0, 1, 16, 1024);

    @Option(names = "--passes", description = "Timed passes; the best is reported (default: ${DEFAULT-VALUE}).")
    int passes = 3;

    @Option(names = "--seed", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed = 1;

    /**
     * Runs the benchmark and exits with its status.
     *
     * @param args command-line arguments
     */
    public static void main(String[] args) {
        System.exit(runExample(args));
    }

    /**
     * Runs the benchmark without exiting.
     *
     * @param args command-line arguments
     * @return the exit status
     */
    public static int runExample(String[] args) {
        System.setProperty("chronicle.analytics.disable", "true");
        return new CommandLine(new ChronicleLookupBenchmark()).execute(args);
    }

    @Override
    public Integer call() throws Exception {
        SplittableRandom r = new SplittableRandom(seed);
        long[] keys = new long[entries];
        LongOpenHashSet set = new LongOpenHashSet(entries);
        while (set.size() < entries) {
            long k = r.nextLong() >>> 4; // 60 bits, as 4 tokens of a 32,000-token vocabulary
            if (k != 0 && set.add(k)) {
                keys[set.size() - 1] = k;
            }
        }
        long[] hits = new long[queries];
        long[] misses = new long[queries];
        for (int i = 0; i < queries; i++) {
            hits[i] = keys[r.nextInt(entries)];
            long m;
            do {
                m = r.nextLong() >>> 4;
            } while (m == 0 || set.contains(m));
            misses[i] = m;
        }
        Long2IntOpenHashMap heap = new Long2IntOpenHashMap(entries);
        heap.defaultReturnValue(-1);
        for (int i = 0; i < entries; i++) {
            heap.put(keys[i], i);
        }
        System.out.printf(Locale.ROOT, "Chronicle Map lookup benchmark: %,d entries (8-byte keys, 4-byte values),"
                + " %,d random queries per pass, best of %d passes, JVM %s%n", entries, queries, passes,
                System.getProperty("java.version"));
        List<String> table = new ArrayList<>();
        table.add("| segments | query | getUsing, byte[] key and value | getUsing, native key and value objects"
                + " | lock-free layout read | same, with the segment read lock | in-heap fastutil |");
        table.add("|---|---|---|---|---|---|---|");
        Path dir = Files.createTempDirectory("chronicle-lookup-bench");
        try {
            for (int segs : segments) {
                ChronicleMapBuilder<byte[], byte[]> arrays = ChronicleMap.of(byte[].class, byte[].class)
                        .name("index").entries(entries).constantKeySizeBySample(new byte[8])
                        .constantValueSizeBySample(new byte[4]).checksumEntries(false);
                ChronicleMapBuilder<Key, Row> natives = ChronicleMap.of(Key.class, Row.class).name("native")
                        .entries(entries).keyReaderAndDataAccess(new KeyReader(), new KeyAccess())
                        .valueReaderAndDataAccess(new RowReader(), new RowAccess())
                        .constantKeySizeBySample(new Key()).constantValueSizeBySample(new Row()).checksumEntries(false);
                if (segs > 0) {
                    arrays.actualSegments(segs);
                    natives.actualSegments(segs);
                }
                try (ChronicleMap<byte[], byte[]> a = arrays.createPersistedTo(dir.resolve("a" + segs).toFile());
                        ChronicleMap<Key, Row> n = natives.createPersistedTo(dir.resolve("n" + segs).toFile())) {
                    Key key = new Key();
                    Row row = new Row();
                    for (int i = 0; i < entries; i++) {
                        a.put(bigEndian(keys[i]), new byte[] {(byte) i, (byte) (i >>> 8), (byte) (i >>> 16),
                            (byte) (i >>> 24)});
                        key.value = keys[i];
                        row.value = i;
                        n.put(key, row);
                    }
                    Layout layout = new Layout(a);
                    for (int i = 0; i < entries; i += 97) { // the layout read finds what Chronicle finds
                        if (layout.find(keys[i]) != i || layout.lockedFind(keys[i]) != i) {
                            throw new IllegalStateException("the layout read disagrees with Chronicle Map at " + i);
                        }
                    }
                    int actual = ((VanillaChronicleHash<?, ?, ?, ?>) a).actualSegments;
                    byte[] keyBytes = new byte[8];
                    byte[] value = new byte[4];
                    for (long[] source : new long[][] {hits, misses}) {
                        String what = source == hits ? "hit" : "miss";
                        double[] arraysNs = time(source, k -> {
                            for (int j = 7; j >= 0; j--) {
                                keyBytes[j] = (byte) (k >>> (8 * (7 - j)));
                            }
                            return a.getUsing(keyBytes, value) == null ? -1 : value[0];
                        });
                        double[] nativesNs = time(source, k -> {
                            key.value = k;
                            return n.getUsing(key, row) == null ? -1 : row.value;
                        });
                        double[] layoutNs = time(source, layout::find);
                        double[] lockedNs = time(source, layout::lockedFind);
                        double[] heapNs = time(source, heap::get);
                        table.add(String.format(Locale.ROOT, "| %s%d | %s | %.0f ns (%.0f B) | %.0f ns (%.0f B) | %.0f ns"
                                + " (%.0f B) | %.0f ns | %.0f ns |", segs == 0 ? "default: " : "", actual, what,
                                arraysNs[0], arraysNs[1], nativesNs[0], nativesNs[1], layoutNs[0], layoutNs[1],
                                lockedNs[0], heapNs[0]));
                        System.out.println(table.get(table.size() - 1));
                    }
                }
            }
        } finally {
            Temporaries.deleteTree(dir);
        }
        System.out.println();
        System.out.println("ns per query, bytes allocated per query in parentheses:");
        table.forEach(System.out::println);
        return 0;
    }

    /** @return {best ns per query, bytes allocated per query in that pass} */
    private double[] time(long[] source, LongToIntFunction query) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        double best = Double.MAX_VALUE;
        double bytes = 0;
        long sink = 0;
        for (int pass = -1; pass < passes; pass++) { // pass -1 warms the JIT
            long allocated = threads.getCurrentThreadAllocatedBytes();
            long t0 = System.nanoTime();
            for (long k : source) {
                sink += query.applyAsInt(k);
            }
            double ns = (System.nanoTime() - t0) / (double) source.length;
            if (pass >= 0 && ns < best) {
                best = ns;
                bytes = (threads.getCurrentThreadAllocatedBytes() - allocated) / (double) source.length;
            }
        }
        return sink == 42 ? new double[] {best + 1e-9, bytes} : new double[] {best, bytes};
    }

    private static byte[] bigEndian(long v) {
        byte[] b = new byte[8];
        for (int i = 7; i >= 0; i--) {
            b[i] = (byte) v;
            v >>>= 8;
        }
        return b;
    }

    /** A query straight from Chronicle's off-heap layout of a map with 8-byte keys, first tiers only. */
    private static final class Layout {
        private static final Memory MEMORY = OS.memory();
        private static final LongHashFunction HASH = LongHashFunction.xx_r39();
        private final VanillaChronicleMap<?, ?, ?> map;
        private final HashSplitting splitting;
        private final CompactOffHeapLinearHashTable lookup;
        private final long[] tiers;
        private final long entrySpace;
        private final long chunkSize;

        Layout(ChronicleMap<?, ?> m) {
            map = (VanillaChronicleMap<?, ?, ?>) m;
            splitting = map.hashSplitting;
            lookup = map.hashLookup;
            tiers = new long[map.actualSegments];
            for (int s = 0; s < tiers.length; s++) {
                tiers[s] = map.segmentBaseAddr(s);
            }
            entrySpace = map.tierHashLookupOuterSize + VanillaChronicleHash.TIER_COUNTERS_AREA_SIZE
                    + map.tierFreeListOuterSize + map.tierEntrySpaceInnerOffset;
            chunkSize = map.chunkSize;
        }

        int find(long key) {
            long bytes = Long.reverseBytes(key); // the key's big-endian bytes as memory reads them
            long hash = HASH.hashLong(bytes);
            return findIn(tiers[splitting.segmentIndex(hash)], lookup.maskUnsetKey(splitting.segmentHash(hash)), bytes);
        }

        int lockedFind(long key) {
            long hash = HASH.hashLong(Long.reverseBytes(key));
            long header = map.segmentHeaderAddress(splitting.segmentIndex(hash));
            BigSegmentHeader.INSTANCE.readLock(header);
            try {
                return find(key);
            } finally {
                BigSegmentHeader.INSTANCE.readUnlock(header);
            }
        }

        private int findIn(long base, long searchKey, long bytes) {
            long pos = lookup.hlPos(searchKey);
            while (true) {
                long slot = lookup.readEntry(base, pos);
                if (slot == 0) {
                    return -1;
                }
                pos = lookup.step(pos);
                if (lookup.key(slot) == searchKey) {
                    long entry = base + entrySpace + lookup.value(slot) * chunkSize;
                    if (MEMORY.readLong(entry) == bytes) {
                        return MEMORY.readInt(entry + 8);
                    }
                }
            }
        }
    }

    /** A reusable key: 8 bytes, big-endian, as a store's index keys. */
    public static final class Key {
        long value;
    }

    /** A reusable row value. */
    public static final class Row {
        int value;
    }

    /** Key bytes written and compared as one long, hashed as Chronicle hashes the same 8 bytes. */
    public static final class KeyAccess extends AbstractData<Key> implements DataAccess<Key> {
        private transient Key key;
        private transient long bytes;

        @Override
        public RandomDataInput bytes() {
            throw new UnsupportedOperationException("no backing bytes");
        }

        @Override
        public long offset() {
            return 0;
        }

        @Override
        public long size() {
            return 8;
        }

        @Override
        public Key get() {
            return key;
        }

        @Override
        public Key getUsing(Key using) {
            Key k = using == null ? new Key() : using;
            k.value = key.value;
            return k;
        }

        @Override
        public long hash(LongHashFunction f) {
            return f.hashLong(bytes);
        }

        @Override
        public boolean equivalent(RandomDataInput source, long sourceOffset) {
            return source.readLong(sourceOffset) == bytes;
        }

        @Override
        public void writeTo(RandomDataOutput target, long targetOffset) {
            target.writeLong(targetOffset, bytes);
        }

        @Override
        public Data<Key> getData(Key instance) {
            key = instance;
            bytes = Long.reverseBytes(instance.value);
            return this;
        }

        @Override
        public void uninit() {
            key = null;
        }

        @Override
        public DataAccess<Key> copy() {
            return new KeyAccess();
        }

        @Override
        public void writeMarshallable(WireOut wire) {
            // no state
        }

        @Override
        public void readMarshallable(WireIn wire) {
            // no state
        }
    }

    /** Reads a key back into a reusable object. */
    public static final class KeyReader implements SizedReader<Key> {
        @Override
        public Key read(Bytes in, long size, Key using) {
            Key k = using == null ? new Key() : using;
            k.value = Long.reverseBytes(in.readLong());
            return k;
        }

        @Override
        public void writeMarshallable(WireOut wire) {
            // no state
        }

        @Override
        public void readMarshallable(WireIn wire) {
            // no state
        }
    }

    /** A row value written as one int. */
    public static final class RowAccess extends AbstractData<Row> implements DataAccess<Row> {
        private transient Row row;

        @Override
        public RandomDataInput bytes() {
            throw new UnsupportedOperationException("no backing bytes");
        }

        @Override
        public long offset() {
            return 0;
        }

        @Override
        public long size() {
            return 4;
        }

        @Override
        public Row get() {
            return row;
        }

        @Override
        public Row getUsing(Row using) {
            Row r = using == null ? new Row() : using;
            r.value = row.value;
            return r;
        }

        @Override
        public long hash(LongHashFunction f) {
            return f.hashInt(row.value);
        }

        @Override
        public boolean equivalent(RandomDataInput source, long sourceOffset) {
            return source.readInt(sourceOffset) == row.value;
        }

        @Override
        public void writeTo(RandomDataOutput target, long targetOffset) {
            target.writeInt(targetOffset, row.value);
        }

        @Override
        public Data<Row> getData(Row instance) {
            row = instance;
            return this;
        }

        @Override
        public void uninit() {
            row = null;
        }

        @Override
        public DataAccess<Row> copy() {
            return new RowAccess();
        }

        @Override
        public void writeMarshallable(WireOut wire) {
            // no state
        }

        @Override
        public void readMarshallable(WireIn wire) {
            // no state
        }
    }

    /** Reads a row value into a reusable object. */
    public static final class RowReader implements SizedReader<Row> {
        @Override
        public Row read(Bytes in, long size, Row using) {
            Row r = using == null ? new Row() : using;
            r.value = in.readInt();
            return r;
        }

        @Override
        public void writeMarshallable(WireOut wire) {
            // no state
        }

        @Override
        public void readMarshallable(WireIn wire) {
            // no state
        }
    }
}
