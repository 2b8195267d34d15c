package dev.scone.fgram.count;

import dev.scone.fgram.io.Temporaries;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Key-sorted runs of (key, count) pairs and their k-way merge. A run lives in memory (arrays) or
 * in a scratch file of the spill directory. Scratch files hold ascending keys as varint deltas and
 * counts as varints; they live only during one scan and are never read by another process, so
 * they carry no header.
 */
final class SortedRuns {

    /** Scratch files are {@code .scone-count.p<pid>.*.run} in the spill directory ({@link Temporaries}). */
    static final String SCRATCH_STEP = "scone-count";

    static final String SCRATCH_SUFFIX = ".run";

    /** At most this many runs are merged at once; more are first merged into longer runs. */
    static final int MAX_FAN_IN = 64;
    private static final int BUFFER = 1 << 16;

    private SortedRuns() {}

    /** Receives merged (key, summed count) pairs in ascending key order. */
    interface Sink {
        void accept(long key, long count) throws IOException;
    }

    /** Iterates a run in ascending key order. */
    interface Cursor extends AutoCloseable {
        /** @return false when the run is exhausted */
        boolean advance() throws IOException;

        long key();

        long count();

        @Override
        void close() throws IOException;
    }

    /** A run on disk. */
    record RunFile(Path path, long bytes, long entries) {
        Cursor open() throws IOException {
            return new FileCursor(path);
        }
    }

    /** Cursor over in-memory sorted entries. */
    static Cursor memory(CountTable.SortedEntries e) {
        return memory(e, 0, e.size());
    }

    /** Cursor over the entries {@code [from, to)} of in-memory sorted entries. */
    static Cursor memory(CountTable.SortedEntries e, int from, int to) {
        return new Cursor() {
            private int i = from - 1;

            @Override
            public boolean advance() {
                return ++i < to;
            }

            @Override
            public long key() {
                return e.keys()[i];
            }

            @Override
            public long count() {
                return e.counts()[i];
            }

            @Override
            public void close() {}
        };
    }

    /** Writes sorted entries to a new scratch file in {@code dir}. */
    static RunFile write(CountTable.SortedEntries e, Path dir) throws IOException {
        Path path = Temporaries.createScratch(dir, SCRATCH_STEP, SCRATCH_SUFFIX);
        try (RunWriter w = new RunWriter(path)) {
            for (int i = 0; i < e.size(); i++) {
                w.put(e.keys()[i], e.counts()[i]);
            }
            return w.finish();
        } catch (IOException | RuntimeException ex) {
            Files.deleteIfExists(path);
            throw ex;
        }
    }

    /**
     * Merges runs, summing the counts of equal keys. Many runs are merged in passes of at most
     * {@link #MAX_FAN_IN}; intermediate files are registered in {@code scratch} (for deletion)
     * and counted in {@code spilled}.
     */
    static void merge(List<RunFile> files, List<CountTable.SortedEntries> memory, Path dir, List<Path> scratch,
            long[] spilled, Sink sink) throws IOException {
        List<RunFile> pending = new ArrayList<>(files);
        while (pending.size() + memory.size() > MAX_FAN_IN) {
            List<RunFile> next = new ArrayList<>();
            for (int from = 0; from < pending.size(); from += MAX_FAN_IN) {
                List<RunFile> group = pending.subList(from, Math.min(pending.size(), from + MAX_FAN_IN));
                if (group.size() == 1) {
                    next.add(group.get(0));
                    continue;
                }
                Path path = Temporaries.createScratch(dir, SCRATCH_STEP, SCRATCH_SUFFIX);
                scratch.add(path);
                RunFile merged;
                try (RunWriter w = new RunWriter(path)) {
                    mergeCursors(openAll(group), w::put);
                    merged = w.finish();
                }
                spilled[0] += merged.bytes();
                for (RunFile f : group) {
                    Files.deleteIfExists(f.path());
                }
                next.add(merged);
            }
            pending = next;
        }
        List<Cursor> cursors = openAll(pending);
        for (CountTable.SortedEntries e : memory) {
            cursors.add(memory(e));
        }
        mergeCursors(cursors, sink);
    }

    private static List<Cursor> openAll(List<RunFile> files) throws IOException {
        List<Cursor> out = new ArrayList<>();
        try {
            for (RunFile f : files) {
                out.add(f.open());
            }
        } catch (IOException | RuntimeException e) {
            for (Cursor c : out) {
                c.close();
            }
            throw e;
        }
        return out;
    }

    /** k-way merge with a binary heap of cursors ordered by current key; closes the cursors. */
    static void mergeCursors(List<Cursor> cursors, Sink sink) throws IOException {
        try {
            Cursor[] heap = new Cursor[cursors.size()];
            int n = 0;
            for (Cursor c : cursors) {
                if (c.advance()) {
                    heap[n++] = c;
                }
            }
            for (int i = n / 2 - 1; i >= 0; i--) {
                siftDown(heap, i, n);
            }
            while (n > 0) {
                long key = heap[0].key();
                long sum = 0;
                while (n > 0 && heap[0].key() == key) {
                    sum += heap[0].count();
                    if (heap[0].advance()) {
                        siftDown(heap, 0, n);
                    } else {
                        heap[0] = heap[--n];
                        heap[n] = null;
                        if (n > 0) {
                            siftDown(heap, 0, n);
                        }
                    }
                }
                sink.accept(key, sum);
            }
        } finally {
            IOException first = null;
            for (Cursor c : cursors) {
                try {
                    c.close();
                } catch (IOException e) {
                    first = first == null ? e : first;
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }

    private static void siftDown(Cursor[] heap, int i, int n) {
        Cursor c = heap[i];
        long k = c.key();
        while (true) {
            int child = 2 * i + 1;
            if (child >= n) {
                break;
            }
            if (child + 1 < n && heap[child + 1].key() < heap[child].key()) {
                child++;
            }
            if (heap[child].key() >= k) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = c;
    }

    /** Writes ascending (key, count) pairs as varint deltas. */
    static final class RunWriter implements AutoCloseable {
        private final Path path;
        private final OutputStream out;
        private final byte[] buf = new byte[BUFFER];
        private int pos;
        private long last = -1;
        private long bytes;
        private long entries;

        RunWriter(Path path) throws IOException {
            this.path = path;
            this.out = Files.newOutputStream(path);
        }

        void put(long key, long count) throws IOException {
            if (key <= last) {
                throw new IllegalStateException("run keys out of order: " + key + " after " + last);
            }
            if (pos > BUFFER - 20) {
                flush();
            }
            pos = putVarLong(buf, pos, key - last);
            pos = putVarLong(buf, pos, count);
            last = key;
            entries++;
        }

        private void flush() throws IOException {
            out.write(buf, 0, pos);
            bytes += pos;
            pos = 0;
        }

        RunFile finish() throws IOException {
            flush();
            out.flush();
            return new RunFile(path, bytes, entries);
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    private static int putVarLong(byte[] b, int pos, long v) {
        while ((v & ~0x7FL) != 0) {
            b[pos++] = (byte) ((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        b[pos++] = (byte) v;
        return pos;
    }

    /** Reads a run written by {@link RunWriter}. */
    private static final class FileCursor implements Cursor {
        private final Path path;
        private final InputStream in;
        private final byte[] buf = new byte[BUFFER];
        private int pos;
        private int limit;
        private boolean eof;
        private long key = -1;
        private long count;

        FileCursor(Path path) throws IOException {
            this.path = path;
            this.in = Files.newInputStream(path);
        }

        @Override
        public boolean advance() throws IOException {
            if (pos >= limit && !fill()) {
                return false;
            }
            key += readVarLong();
            count = readVarLong();
            return true;
        }

        private boolean fill() throws IOException {
            if (eof) {
                return false;
            }
            int keep = limit - pos;
            System.arraycopy(buf, pos, buf, 0, keep);
            int n = in.readNBytes(buf, keep, buf.length - keep);
            if (n < buf.length - keep) {
                eof = true;
            }
            pos = 0;
            limit = keep + n;
            return limit > 0;
        }

        private long readVarLong() throws IOException {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= limit && !fill()) {
                    throw new IOException(path + ": scratch run ends inside an entry");
                }
                byte b = buf[pos++];
                v |= (long) (b & 0x7F) << shift;
                if (b >= 0) {
                    return v;
                }
            }
            throw new IOException(path + ": malformed varint in scratch run");
        }

        @Override
        public long key() {
            return key;
        }

        @Override
        public long count() {
            return count;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
