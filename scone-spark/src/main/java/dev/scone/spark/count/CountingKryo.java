package dev.scone.spark.count;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.Serializer;

/**
 * Kryo registration of the counting job's classes, for {@link dev.scone.spark.SconeKryoRegistrator}
 * (the classes and their fields stay package-private).
 */
public final class CountingKryo {

    private CountingKryo() {}

    /** @param kryo the Kryo instance Spark configures */
    public static void register(Kryo kryo) {
        kryo.register(GramBlock.class, new BlockSerializer());
        kryo.register(GramBlock[].class);
        kryo.register(LevelKeys.class, new LevelKeysSerializer());
        kryo.register(LevelSummary.class);
        kryo.register(RankedFgram.class, new RankedSerializer());
        kryo.register(VocabularyPiece.class, new PieceSerializer());
    }

    /** Writes and reads arrays; immutable objects (Kryo copies them by reference). */
    private abstract static class ArraySerializer<T> extends Serializer<T> {
        ArraySerializer() {
            setImmutable(true);
        }

        static void writeLongs(Output out, long[] a, int n) {
            for (int i = 0; i < n; i++) {
                out.writeLong(a[i]);
            }
        }

        static void writeVarLongs(Output out, long[] a, int n) {
            for (int i = 0; i < n; i++) {
                out.writeVarLong(a[i], true);
            }
        }

        static void writeVarInts(Output out, int[] a, int n) {
            for (int i = 0; i < n; i++) {
                out.writeVarInt(a[i], true);
            }
        }

        static long[] readLongs(Input in, int n) {
            long[] a = new long[n];
            for (int i = 0; i < n; i++) {
                a[i] = in.readLong();
            }
            return a;
        }

        static long[] readVarLongs(Input in, int n) {
            long[] a = new long[n];
            for (int i = 0; i < n; i++) {
                a[i] = in.readVarLong(true);
            }
            return a;
        }

        static int[] readVarInts(Input in, int n) {
            int[] a = new int[n];
            for (int i = 0; i < n; i++) {
                a[i] = in.readVarInt(true);
            }
            return a;
        }
    }

    /** A block as: n, size, form, then keys (8 bytes each) or token ids (varints), then counts (varints). */
    private static final class BlockSerializer extends ArraySerializer<GramBlock> {
        @Override
        public void write(Kryo kryo, Output out, GramBlock b) {
            out.writeVarInt(b.n, true);
            out.writeVarInt(b.size, true);
            out.writeBoolean(b.keyForm());
            if (b.keyForm()) {
                writeLongs(out, b.keys, b.size);
            } else {
                writeVarInts(out, b.tokens, b.size * b.n);
            }
            writeVarLongs(out, b.counts, b.size);
        }

        @Override
        public GramBlock read(Kryo kryo, Input in, Class<GramBlock> type) {
            int n = in.readVarInt(true);
            int size = in.readVarInt(true);
            boolean keys = in.readBoolean();
            if (keys) {
                long[] k = readLongs(in, size);
                return GramBlock.ofKeys(n, k, readVarLongs(in, size), size);
            }
            int[] t = readVarInts(in, Math.multiplyExact(size, n));
            return GramBlock.ofTuples(n, t, readVarLongs(in, size), size);
        }
    }

    /** A broadcast level as its length and ascending keys, delta-coded as varints. */
    private static final class LevelKeysSerializer extends ArraySerializer<LevelKeys> {
        @Override
        public void write(Kryo kryo, Output out, LevelKeys l) {
            out.writeVarInt(l.n, true);
            out.writeVarInt(l.keys.length, true);
            long prev = 0;
            for (long k : l.keys) {
                out.writeVarLong(k - prev, true);
                prev = k;
            }
        }

        @Override
        public LevelKeys read(Kryo kryo, Input in, Class<LevelKeys> type) {
            int n = in.readVarInt(true);
            long[] keys = new long[in.readVarInt(true)];
            long prev = 0;
            for (int i = 0; i < keys.length; i++) {
                prev += in.readVarLong(true);
                keys[i] = prev;
            }
            return LevelKeys.shipped(n, keys);
        }
    }

    /** A ranked f-gram as its count, length and token ids, as varints. */
    private static final class RankedSerializer extends ArraySerializer<RankedFgram> {
        @Override
        public void write(Kryo kryo, Output out, RankedFgram r) {
            out.writeVarLong(r.count, true);
            out.writeVarInt(r.tokens.length, true);
            writeVarInts(out, r.tokens, r.tokens.length);
        }

        @Override
        public RankedFgram read(Kryo kryo, Input in, Class<RankedFgram> type) {
            long count = in.readVarLong(true);
            return new RankedFgram(count, readVarInts(in, in.readVarInt(true)));
        }
    }

    /** A piece as its block, size and form, then the encoded bytes or the fragment's arrays. */
    private static final class PieceSerializer extends ArraySerializer<VocabularyPiece> {
        @Override
        public void write(Kryo kryo, Output out, VocabularyPiece p) {
            out.writeVarInt(p.block, true);
            out.writeVarInt(p.fgrams, true);
            out.writeVarInt(p.tokens, true);
            out.writeBoolean(p.isWhole());
            if (p.isWhole()) {
                out.writeInt(p.crc);
                out.writeVarInt(p.bytes.length, true);
                out.writeBytes(p.bytes);
            } else {
                out.writeVarInt(p.firstId, true);
                writeVarInts(out, p.lengths, p.fgrams);
                writeVarInts(out, p.fragmentTokens, p.tokens);
                writeVarLongs(out, p.counts, p.fgrams);
            }
        }

        @Override
        public VocabularyPiece read(Kryo kryo, Input in, Class<VocabularyPiece> type) {
            int block = in.readVarInt(true);
            int fgrams = in.readVarInt(true);
            int tokens = in.readVarInt(true);
            if (in.readBoolean()) {
                int crc = in.readInt();
                byte[] bytes = in.readBytes(in.readVarInt(true));
                return new VocabularyPiece(block, fgrams, tokens, crc, bytes, -1, null, null, null);
            }
            int firstId = in.readVarInt(true);
            int[] lengths = readVarInts(in, fgrams);
            int[] t = readVarInts(in, tokens);
            return new VocabularyPiece(block, fgrams, tokens, 0, null, firstId, lengths, t, readVarLongs(in, fgrams));
        }
    }
}
