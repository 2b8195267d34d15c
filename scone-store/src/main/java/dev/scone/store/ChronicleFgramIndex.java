package dev.scone.store;

import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiConsumer;
import net.openhft.chronicle.algo.hashing.LongHashFunction;
import net.openhft.chronicle.core.Memory;
import net.openhft.chronicle.core.OS;
import net.openhft.chronicle.hash.impl.BigSegmentHeader;
import net.openhft.chronicle.hash.impl.CompactOffHeapLinearHashTable;
import net.openhft.chronicle.hash.impl.HashSplitting;
import net.openhft.chronicle.hash.impl.TierCountersArea;
import net.openhft.chronicle.hash.impl.VanillaChronicleHash;
import net.openhft.chronicle.hash.serialization.SizeMarshaller;
import net.openhft.chronicle.hash.serialization.impl.ConstantSizeMarshaller;
import net.openhft.chronicle.hash.serialization.impl.StopBitSizeMarshaller;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.VanillaChronicleMap;

/**
 * A store's key index ({@value StoreLayout#INDEX}): a persisted Chronicle Map from each f-gram's
 * exact key ({@link FgramKeyCodec}) to its 4-byte little-endian row number, opened from the file
 * and checked (its CRC32C as the manifest records it, with Chronicle's segment lock words as
 * written; its entry count), then read lock-free.
 *
 * <p>Queries read Chronicle's off-heap layout of the file directly, through this class's own
 * read-only mappings: the key's hash (Chronicle's own xxHash), its segment and hash-lookup slot,
 * the entry's key bytes and value, as Chronicle Map's {@code get} does, but without its
 * per-query context, segment read lock or objects. A published store's index is never written
 * again, so no reader needs the lock, and reading writes nothing to the file. Chronicle Map
 * itself is open only while the store opens (it reads and checks the file's header and gives
 * the layout: every field this reader needs is public in Chronicle's {@code VanillaChronicleHash})
 * and while {@link #forEach} runs. At open, every entry is reached through the hash lookups and
 * counted, and a sample is found again by a query; {@link #forEach} (and so {@code verify()})
 * compares each entry Chronicle Map's own iteration lists with what a query finds. Every offset
 * read from the file is bounded before it is followed, so a damaged index gives a
 * {@link FgramStoreCorruptedException}, never a read outside the mapping.
 *
 * <p>The mappings, as the vector file's, are released by the garbage collector once the store
 * is unreachable: queries that are running when the store closes finish on valid memory.
 */
final class ChronicleFgramIndex {

    /** Entries found again by a query at open. */
    static final int OPEN_SAMPLE = 256;

    /** Longs of a key's bytes in the order Chronicle's memory reads and hashes them. */
    private static final VarHandle NATIVE_LONG = MethodHandles.byteArrayViewVarHandle(long[].class,
            ByteOrder.nativeOrder());

    private final Path file;
    private final long bytesAtOpen;
    private final FgramKeyCodec codec;
    private final Direct direct;
    private final long entries;
    private final long indexChecksum;

    private ChronicleFgramIndex(Path file, long bytesAtOpen, FgramKeyCodec codec, Direct direct, long entries,
            long indexChecksum) {
        this.file = file;
        this.bytesAtOpen = bytesAtOpen;
        this.codec = codec;
        this.direct = direct;
        this.entries = entries;
        this.indexChecksum = indexChecksum;
    }

    /**
     * Opens and checks a store's index.
     *
     * @param file the index file
     * @param m the store's manifest
     * @param codec the store's key codec
     * @param verifyChecksum whether to check the whole file's CRC32C first
     * @param filter receives every key's f-gram hash
     * @return the open index
     * @throws SconeFormatException when it is missing, damaged, holds another number of entries,
     *     or is laid out in a way this reader does not know
     * @throws IOException when reading fails
     */
    static ChronicleFgramIndex open(Path file, StoreManifest m, FgramKeyCodec codec, boolean verifyChecksum,
            FgramBloomFilter filter) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new SconeFormatException(file, "index file is missing");
        }
        // The whole file as written; a process of an earlier version reading the store may hold Chronicle's
        // segment locks in it for moments, so a mismatch is checked again below with the lock words as written.
        long crc = verifyChecksum ? StoreLayout.crc32cOf(file) : m.indexChecksum();
        long bytes = Files.size(file);
        Direct direct;
        try (ChronicleMap<byte[], byte[]> map = openMap(file, codec, m.size())) {
            if (crc != m.indexChecksum()) {
                long unlocked = unlockedChecksum(file, map);
                if (unlocked != m.indexChecksum()) {
                    throw mismatch(file, m.indexChecksum(), unlocked);
                }
            }
            if (map.longSize() != m.size()) {
                throw new SconeFormatException(file, "index holds " + map.longSize() + " entries, the manifest says "
                        + m.size());
            }
            direct = Direct.of(file, map, codec);
        } catch (InternalError e) {
            throw new SconeFormatException(file, "the index could not be read (cut or unreadable while opening): "
                    + e.getMessage(), e);
        }
        int[] tokens = new int[codec.maxN()];
        long[] reached = {0};
        try {
            direct.forEachEntry((key, len, row) -> {
                int n = codec.decode(key, len, tokens);
                if (n < 0) {
                    throw direct.damaged("the index holds an invalid key of " + len + " bytes");
                }
                filter.add(FgramVocabulary.hash(tokens, 0, n));
                if (reached[0]++ < OPEN_SAMPLE && direct.find(key, len) != row) {
                    throw direct.damaged("f-gram " + Arrays.toString(Arrays.copyOf(tokens, n)) + " is listed at row "
                            + row + " but a query for it finds row " + direct.find(key, len) + " (or the index is laid"
                            + " out in a way this reader does not know)");
                }
            });
        } catch (FgramStoreCorruptedException e) {
            throw e.getCause();
        } catch (java.io.EOFException e) {
            throw new SconeFormatException(file, "truncated index: " + e.getMessage(), e);
        } catch (InternalError e) {
            throw new SconeFormatException(file, "the index could not be read (cut or unreadable while opening): "
                    + e.getMessage(), e);
        }
        if (reached[0] != m.size()) {
            throw new SconeFormatException(file, "the index's hash lookups reach " + reached[0] + " entries, the"
                    + " manifest says " + m.size() + ": the index is damaged");
        }
        return new ChronicleFgramIndex(file, bytes, codec, direct, m.size(), m.indexChecksum());
    }

    private static ChronicleMap<byte[], byte[]> openMap(Path file, FgramKeyCodec codec, long entries)
            throws SconeFormatException {
        try {
            return StoreLayout.indexBuilder(codec, entries).createPersistedTo(file.toFile());
        } catch (IOException | RuntimeException | InternalError e) {
            throw new SconeFormatException(file, "cannot open the index: " + e, e);
        }
    }

    /** @return the index file */
    Path file() {
        return file;
    }

    /** @return the tiers beyond each segment's first that queries follow */
    int extraTiers() {
        int n = 0;
        for (int[] more : direct.moreTiers) {
            n += more == null ? 0 : more.length / 2;
        }
        return n;
    }

    /**
     * The row of an encoded key.
     *
     * @param key the key ({@code key.length} bytes exactly)
     * @return its row, or -1 when it is no f-gram of the store
     * @throws FgramStoreCorruptedException when the index is damaged where the query reads
     * @throws InternalError when a page of the mapping cannot be read (the file was cut)
     */
    int find(byte[] key) {
        return direct.find(key, key.length);
    }

    /**
     * Every entry, through Chronicle Map's own iteration (not this reader's), so that a caller can
     * check the lock-free reader against it. Opens the map for the time it takes.
     *
     * @param action receives each key and row
     * @throws SconeFormatException when the map cannot be read
     */
    void forEach(BiConsumer<byte[], Integer> action) throws SconeFormatException {
        try (ChronicleMap<byte[], byte[]> map = openMap(file, codec, entries)) {
            map.forEach((k, v) -> action.accept(k, v.length == 4 ? row(v) : -1));
        } catch (RuntimeException e) {
            throw new SconeFormatException(file, "cannot read the index: " + e, e);
        }
    }

    /**
     * Checks the whole file against the manifest's checksum, with the lock words that other
     * processes (of earlier versions) may hold counted as written.
     *
     * @throws SconeFormatException when it differs
     */
    void checkChecksum() throws SconeFormatException {
        long crc;
        try {
            crc = StoreLayout.crc32cOf(file);
            if (crc != indexChecksum) {
                try (ChronicleMap<byte[], byte[]> map = openMap(file, codec, entries)) {
                    crc = unlockedChecksum(file, map);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new SconeFormatException(file, "cannot read the index: " + e, e);
        }
        if (crc != indexChecksum) {
            throw mismatch(file, indexChecksum, crc);
        }
    }

    /** @return how the file changed since open (cut or replaced), or {@code null} */
    String changeSinceOpen() {
        return StoreFolder.changeSince(file, bytesAtOpen);
    }

    private static int row(byte[] v) {
        return (v[0] & 0xFF) | (v[1] & 0xFF) << 8 | (v[2] & 0xFF) << 16 | (v[3] & 0xFF) << 24;
    }

    /** The index file's CRC32C with the lock words of the open {@code map} as written. */
    private static long unlockedChecksum(Path file, ChronicleMap<?, ?> map) throws IOException {
        return StoreLayout.crc32cOf(file, StoreLayout.lockWordOffsets(map));
    }

    private static SconeFormatException mismatch(Path file, long stored, long computed) {
        return new SconeFormatException(file, "index checksum mismatch (stored " + StoreManifest.hex(stored)
                + ", computed " + StoreManifest.hex(computed) + " with Chronicle's lock words as written): the index"
                + " is damaged");
    }

    /** Receives an entry of the index: its key ({@code key[0 .. len)}, reused) and row. */
    @FunctionalInterface
    interface EntryVisitor {
        void accept(byte[] key, int len, int row);
    }

    /**
     * The lock-free reader: Chronicle Map's layout as the open map describes it, read from the
     * index file through this reader's own read-only mappings (released by the garbage collector,
     * as the vector file's are, so no query ever touches an unmapped page). Per segment, a chain
     * of tiers (usually one), each a hash lookup (slots of a few hash bits and an entry position)
     * followed by counters, a free list and the entry space; an entry is the key's size (none for
     * constant-size keys, one stop-bit byte otherwise), the key, then the value, aligned as the
     * map says, here a 4-byte row number.
     */
    private static final class Direct {
        private static final LongHashFunction HASH = LongHashFunction.xx_r39();
        /** Most bytes one mapping spans besides the tail that completes its last tier. */
        private static final long CHUNK_BYTES = 1L << 30;

        private final Path file;
        private final HashSplitting splitting;
        private final CompactOffHeapLinearHashTable lookup;
        private final ByteBuffer[] chunks; // the file from chunk * CHUNK_BYTES, each to the end of its last tier
        private final int[] tierChunk; // by segment: the chunk and offset in it of its first tier
        private final int[] tierOffset;
        private final int[][] moreTiers; // by segment: {chunk, offset} pairs of its later tiers, or null
        private final int slotBytes;
        private final long entrySpace; // from a tier's start
        private final long entrySpaceBytes;
        private final long chunkSize;
        private final long capacity; // hash lookup slots per tier
        private final long constantKeySize; // -1: a stop-bit size byte before each key
        private final long alignment;
        private final int maxKeyBytes;
        private final long tierSize;

        private Direct(Path file, VanillaChronicleMap<?, ?, ?> m, FgramKeyCodec codec, ByteBuffer[] chunks,
                int[] tierChunk, int[] tierOffset, int[][] moreTiers) {
            this.file = file;
            this.maxKeyBytes = codec.keyBytes(codec.maxN());
            this.tierSize = m.tierSize;
            this.splitting = m.hashSplitting;
            this.lookup = m.hashLookup;
            this.chunks = chunks;
            this.tierChunk = tierChunk;
            this.tierOffset = tierOffset;
            this.moreTiers = moreTiers;
            this.slotBytes = m.tierHashLookupSlotSize;
            this.entrySpace = m.tierHashLookupOuterSize + VanillaChronicleHash.TIER_COUNTERS_AREA_SIZE
                    + m.tierFreeListOuterSize + m.tierEntrySpaceInnerOffset;
            this.chunkSize = m.chunkSize;
            this.entrySpaceBytes = m.actualChunksPerSegmentTier * m.chunkSize;
            this.capacity = m.tierHashLookupCapacity;
            this.constantKeySize = m.keySizeMarshaller instanceof ConstantSizeMarshaller c ? c.minStorableSize() : -1;
            this.alignment = Math.max(1, m.alignment);
        }

        /**
         * Reads the layout of an open map and maps its file.
         *
         * @throws SconeFormatException when the map is laid out in a way this reader does not know
         */
        static Direct of(Path file, ChronicleMap<byte[], byte[]> map, FgramKeyCodec codec) throws IOException {
            if (!(map instanceof VanillaChronicleMap<?, ?, ?> m) || map.getClass() != VanillaChronicleMap.class) {
                throw new SconeFormatException(file, "the index is a " + map.getClass().getName()
                        + ", not a Chronicle Map this reader knows");
            }
            SizeMarshaller keys = m.keySizeMarshaller;
            SizeMarshaller values = m.valueSizeMarshaller;
            boolean keysKnown = keys instanceof StopBitSizeMarshaller
                    || keys instanceof ConstantSizeMarshaller && codec.constantKeySize()
                            && keys.minStorableSize() == codec.keyBytes(codec.maxN());
            if (!keysKnown || !(values instanceof ConstantSizeMarshaller) || values.minStorableSize() != 4
                    || m.checksumEntries || Long.bitCount(Math.max(1, m.alignment)) != 1
                    || (m.tierHashLookupSlotSize != 4 && m.tierHashLookupSlotSize != 8)) {
                throw new SconeFormatException(file, "the index's entries are laid out in a way this reader does not"
                        + " know (key sizes " + keys + ", value sizes " + values + ", entry checksums "
                        + m.checksumEntries + ", alignment " + m.alignment + ", slots of " + m.tierHashLookupSlotSize
                        + " bytes)");
            }
            long tierSize = m.tierSize;
            if (tierSize > CHUNK_BYTES) {
                throw new SconeFormatException(file, "the index's segment tiers of " + tierSize + " bytes are larger"
                        + " than this reader maps at once");
            }
            long fileBytes = Files.size(file);
            // every tier's file offset: a segment's first tier in the map's main area (mapped from file
            // offset 0), its later tiers in the extra tier bulks that follow it
            long base = m.bsAddress();
            long[] first = new long[m.actualSegments];
            long[][] later = new long[m.actualSegments][];
            long tiersInFile = fileBytes / tierSize + 1;
            for (int s = 0; s < first.length; s++) {
                first[s] = m.segmentBaseAddr(s) - base;
                List<Long> chain = new ArrayList<>();
                long next = BigSegmentHeader.INSTANCE.nextTierIndex(m.segmentHeaderAddress(s));
                while (next != 0) {
                    long extra = next - 1 - m.actualSegments; // tiers are counted from 1; extra ones follow the segments
                    if (extra < 0 || chain.size() > tiersInFile) {
                        throw new SconeFormatException(file, "segment " + s + " has a broken chain of tiers");
                    }
                    long offset = m.sizeInBytesWithoutTiers() + extra * tierSize;
                    long address = m.tierIndexToBaseAddr(next);
                    chain.add(offset);
                    chain.add(address);
                    next = TierCountersArea.nextTierIndex(address + m.tierHashLookupOuterSize);
                }
                if (!chain.isEmpty()) {
                    later[s] = chain.stream().mapToLong(Long::longValue).toArray();
                }
            }
            int n = (int) ((fileBytes + CHUNK_BYTES - 1) / CHUNK_BYTES);
            ByteBuffer[] chunks = new ByteBuffer[Math.max(1, n)];
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                for (int c = 0; c < chunks.length; c++) {
                    long from = c * CHUNK_BYTES;
                    long to = Math.min(fileBytes, from + CHUNK_BYTES + tierSize); // a tier starting here ends here
                    chunks[c] = ch.map(FileChannel.MapMode.READ_ONLY, from, Math.max(0, to - from))
                            .order(ByteOrder.nativeOrder());
                }
            }
            int[] tierChunk = new int[first.length];
            int[] tierOffset = new int[first.length];
            int[][] more = new int[first.length][];
            Memory memory = OS.memory();
            for (int s = 0; s < first.length; s++) {
                if (first[s] < 0 || first[s] + tierSize > fileBytes) {
                    throw new SconeFormatException(file, "segment " + s + " lies outside the file");
                }
                tierChunk[s] = (int) (first[s] / CHUNK_BYTES);
                tierOffset[s] = (int) (first[s] % CHUNK_BYTES);
                if (later[s] != null) {
                    more[s] = new int[later[s].length];
                    for (int t = 0; t < later[s].length; t += 2) {
                        long offset = later[s][t];
                        long address = later[s][t + 1];
                        if (offset < 0 || offset + tierSize > fileBytes) {
                            throw new SconeFormatException(file, "a tier of segment " + s + " lies outside the file");
                        }
                        more[s][t] = (int) (offset / CHUNK_BYTES);
                        more[s][t + 1] = (int) (offset % CHUNK_BYTES);
                        // the tier's counters as Chronicle sees them must be the bytes at the computed offset
                        ByteBuffer chunk = chunks[more[s][t]];
                        long counters = m.tierHashLookupOuterSize;
                        for (int k = 0; k < VanillaChronicleHash.TIER_COUNTERS_AREA_SIZE; k += 8) {
                            if (chunk.getLong((int) (more[s][t + 1] + counters + k))
                                    != memory.readLong(address + counters + k)) {
                                throw new SconeFormatException(file, "an extra tier of segment " + s + " is not where"
                                        + " this reader expects it: the index is laid out in a way it does not know");
                            }
                        }
                    }
                }
            }
            return new Direct(file, m, codec, chunks, tierChunk, tierOffset, more);
        }

        /**
         * Visits every entry reachable through the hash lookups of every tier, slot by slot.
         *
         * @throws FgramStoreCorruptedException when an entry lies outside its tier or its key is too long
         * @throws IOException when the file cannot be read
         */
        void forEachEntry(EntryVisitor visitor) throws IOException {
            // read through the file, tier by tier, rather than the mappings: a store that was just opened has
            // touched no page of its mappings, so the kernel can still drop them from its cache
            byte[] key = new byte[maxKeyBytes];
            ByteBuffer tier = ByteBuffer.allocate((int) tierSize).order(ByteOrder.nativeOrder());
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                for (int s = 0; s < tierChunk.length; s++) {
                    visitTier(read(ch, tier, tierChunk[s], tierOffset[s]), key, visitor);
                    int[] more = moreTiers[s];
                    for (int t = 0; more != null && t < more.length; t += 2) {
                        visitTier(read(ch, tier, more[t], more[t + 1]), key, visitor);
                    }
                }
            }
        }

        private static ByteBuffer read(FileChannel ch, ByteBuffer tier, int chunk, int offset) throws IOException {
            long at = chunk * CHUNK_BYTES + offset;
            tier.clear();
            while (tier.hasRemaining()) {
                if (ch.read(tier, at + tier.position()) < 0) {
                    throw new java.io.EOFException("the index ends inside a tier at " + at);
                }
            }
            return tier;
        }

        private void visitTier(ByteBuffer chunk, byte[] key, EntryVisitor visitor) {
            for (long pos = 0; pos < capacity * slotBytes; pos += slotBytes) {
                int at = (int) pos;
                long slot = slotBytes == 4 ? chunk.getInt(at) : chunk.getLong(at);
                if (slot == 0) {
                    continue;
                }
                long offset = lookup.value(slot) * chunkSize;
                if (offset >= entrySpaceBytes) {
                    throw damaged("a hash slot points outside the entry space");
                }
                int entry = (int) (entrySpace + offset);
                long size = constantKeySize;
                if (size < 0) {
                    size = chunk.get(entry++);
                }
                if (size < 0 || size > maxKeyBytes) {
                    throw damaged("an entry has a key of " + (size < 0 ? "128 or more" : size) + " bytes");
                }
                int value = (int) ((entry + size + alignment - 1) & -alignment);
                if (value + 4 - entrySpace > entrySpaceBytes) {
                    throw damaged("an entry runs past the entry space");
                }
                chunk.get(entry, key, 0, (int) size);
                visitor.accept(key, (int) size, chunk.getInt(value));
            }
        }

        /** The row of {@code key[0 .. len)}, or -1. */
        int find(byte[] key, int len) {
            long hash = constantKeySize == 8 ? HASH.hashLong((long) NATIVE_LONG.get(key, 0)) : HASH.hashBytes(key, 0, len);
            int segment = splitting.segmentIndex(hash);
            long searchKey = lookup.maskUnsetKey(splitting.segmentHash(hash));
            int row = findInTier(chunks[tierChunk[segment]], tierOffset[segment], searchKey, key, len);
            int[] more = moreTiers[segment];
            for (int t = 0; row == -1 && more != null && t < more.length; t += 2) {
                row = findInTier(chunks[more[t]], more[t + 1], searchKey, key, len);
            }
            return row;
        }

        private int findInTier(ByteBuffer chunk, int tier, long searchKey, byte[] key, int len) {
            long pos = lookup.hlPos(searchKey);
            for (long steps = 0; steps < capacity; steps++) {
                int at = tier + (int) pos;
                long slot = slotBytes == 4 ? chunk.getInt(at) : chunk.getLong(at);
                if (slot == 0) {
                    return -1;
                }
                pos = lookup.step(pos);
                if (lookup.key(slot) != searchKey) {
                    continue;
                }
                long offset = lookup.value(slot) * chunkSize;
                if (offset >= entrySpaceBytes) {
                    throw damaged("a hash slot points outside the entry space");
                }
                int entry = (int) (tier + entrySpace + offset);
                long size = constantKeySize;
                if (size < 0) {
                    size = chunk.get(entry++);
                    if (size < 0) {
                        continue; // a size of 128 bytes or more: no key of this store
                    }
                }
                if (size != len) {
                    continue;
                }
                int value = (int) ((entry + size + alignment - 1) & -alignment);
                if (value + 4 - tier - entrySpace > entrySpaceBytes) {
                    throw damaged("an entry runs past the entry space");
                }
                if (equal(chunk, entry, key, len)) {
                    return chunk.getInt(value);
                }
            }
            throw damaged("a hash lookup has no empty slot");
        }

        private static boolean equal(ByteBuffer chunk, int at, byte[] key, int len) {
            int i = 0;
            for (; i + 8 <= len; i += 8) {
                if (chunk.getLong(at + i) != (long) NATIVE_LONG.get(key, i)) {
                    return false;
                }
            }
            for (; i < len; i++) {
                if (chunk.get(at + i) != key[i]) {
                    return false;
                }
            }
            return true;
        }

        FgramStoreCorruptedException damaged(String problem) {
            return StoreFolder.corrupted(file, problem + ": the index is damaged");
        }
    }
}
