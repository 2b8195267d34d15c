package dev.scone.core.train;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.scone.fgram.io.AtomicFiles;
import dev.scone.fgram.io.SconeFormatException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;

/**
 * A training checkpoint: one file holding everything a run needs to continue exactly where it
 * stopped.
 *
 * <p>Layout (big-endian): magic {@code "SCONECKP"}, format version (int), the model configuration
 * text, the trainer configuration text ({@link TrainerConfig#toText()}), the training data's
 * signature ({@link dev.scone.core.data.WindowDataset#signature()}), (since version 2) the origin
 * of its token ids ({@link dev.scone.core.data.WindowDataset#origin()}), updates taken, training tokens
 * seen, the position in the seeded window order, (since version 3) the seconds spent training and
 * the sum and count of the training losses since the last validation, the
 * validation history (since version 3 with each point's training loss and seconds), the model parameters
 * ({@link Block#saveParameters}), the optimizer state ({@link AdamW#writeState}), and finally a
 * CRC-32C of everything before it (8 bytes). The file is written under a temporary name and renamed
 * into place only when complete ({@link AtomicFiles}).
 *
 * <p>Random state: parameters are initialized from the seed, the window order is a function of
 * (seed, position), and the engine's random generator is re-seeded from (seed, step) before every
 * step, so the counters above are the whole random state.
 */
public final class Checkpoint {

    /** The file's first 8 bytes. */
    public static final byte[] MAGIC = "SCONECKP".getBytes(StandardCharsets.US_ASCII);

    /**
     * The format version this code writes; it reads this one, version 2 (no time or training
     * losses) and version 1 (no data origin either).
     */
    public static final int FORMAT_VERSION = 3;

    private static final int FORMAT_VERSION_1 = 1;

    private static final int FORMAT_VERSION_2 = 2;

    private static final int MAX_TEXT = 1 << 24;

    /**
     * Everything in a checkpoint except the parameters and optimizer state.
     *
     * @param modelConfigText the model's configuration text
     * @param trainerConfig the trainer configuration
     * @param dataSignature the training data's signature
     * @param dataOrigin where the training data's token ids come from ({@code ""}: not recorded)
     * @param step updates taken
     * @param tokensSeen training tokens consumed
     * @param windowPosition position in the seeded window order
     * @param wallSeconds seconds spent in training steps and validations (NaN: not recorded)
     * @param lossSinceValidation the sum of the training losses of the steps since the last
     *     validation (0 when not recorded)
     * @param stepsSinceValidation how many steps that sum covers
     * @param history validation results so far
     */
    public record Header(String modelConfigText, TrainerConfig trainerConfig, String dataSignature, String dataOrigin,
            long step, long tokensSeen, long windowPosition, double wallSeconds, double lossSinceValidation,
            int stepsSinceValidation, List<HistoryPoint> history) {

        /** Copies the history. */
        public Header {
            java.util.Objects.requireNonNull(dataOrigin, "dataOrigin");
            history = List.copyOf(history);
        }

        /**
         * @return the fingerprint of the compaction the training ids were compacted by, {@code "none"}
         *     for uncompacted ids, or null when the checkpoint does not record it
         */
        public String dataCompaction() {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?:^| )compaction=(\\S+)").matcher(dataOrigin);
            return m.find() ? m.group(1) : null;
        }
    }

    private Checkpoint() {}

    /**
     * Reads and checks a checkpoint's header (the whole file's checksum is verified first).
     *
     * @param file the checkpoint
     * @return its header
     * @throws SconeFormatException when the file is not a checkpoint, of another version,
     *     truncated or corrupt
     * @throws IOException when it cannot be read
     */
    public static Header readHeader(Path file) throws IOException {
        verifyChecksum(file);
        try (DataInputStream in = open(file)) {
            return readHeader(file, in);
        }
    }

    /**
     * Rebuilds a trained model from a checkpoint, for evaluation or inference: the factory builds
     * the architecture from the stored configuration and the stored parameters are loaded into it.
     *
     * @param file the checkpoint
     * @param factory rebuilds the model from its configuration text
     * @param manager the manager the parameters are created in
     * @return the model, with parameters loaded
     * @throws SconeFormatException when the file is damaged or does not fit the rebuilt model
     * @throws IllegalArgumentException when the factory refuses the stored configuration (the
     *     message names the file and the factory's reason)
     * @throws IOException when it cannot be read
     */
    public static TrainableModel loadModel(Path file, ModelFactory factory, NDManager manager) throws IOException {
        return load(file, factory, manager).model();
    }

    /**
     * A rebuilt model with the header it was read with.
     *
     * @param header the checkpoint's header
     * @param model the model, with parameters loaded
     */
    public record Loaded(Header header, TrainableModel model) {}

    /**
     * As {@link #loadModel}, and returns the header too (the file is read and checked once).
     *
     * @param file the checkpoint
     * @param factory rebuilds the model from its configuration text
     * @param manager the manager the parameters are created in
     * @return the header and the model
     * @throws IOException as {@link #loadModel}
     */
    public static Loaded load(Path file, ModelFactory factory, NDManager manager) throws IOException {
        verifyChecksum(file);
        try (DataInputStream in = open(file)) {
            Header h = readHeader(file, in);
            TrainableModel model;
            try {
                model = factory.fromConfigText(h.modelConfigText());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("checkpoint " + file + ": " + e.getMessage(), e);
            }
            loadParameters(file, in, model.block(), manager, h.trainerConfig().contextLength());
            return new Loaded(h, model);
        }
    }

    static void write(Path file, Header header, Block block, AdamW optimizer) throws IOException {
        AtomicFiles.write(file, tmp -> {
            try (OutputStream raw = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                CRC32C crc = new CRC32C();
                DataOutputStream out = new DataOutputStream(new CheckedOutputStream(raw, crc));
                out.write(MAGIC);
                out.writeInt(FORMAT_VERSION);
                writeText(out, header.modelConfigText());
                writeText(out, header.trainerConfig().toText());
                writeText(out, header.dataSignature());
                writeText(out, header.dataOrigin());
                out.writeLong(header.step());
                out.writeLong(header.tokensSeen());
                out.writeLong(header.windowPosition());
                out.writeDouble(header.wallSeconds());
                out.writeDouble(header.lossSinceValidation());
                out.writeInt(header.stepsSinceValidation());
                out.writeInt(header.history().size());
                for (HistoryPoint p : header.history()) {
                    PerplexityResult r = p.validation();
                    out.writeLong(p.step());
                    out.writeLong(p.tokensSeen());
                    out.writeLong(r.tokens());
                    out.writeDouble(r.totalNll());
                    out.writeLong(r.matchedTokens());
                    out.writeDouble(r.matchedNll());
                    out.writeDouble(p.trainingLoss());
                    out.writeDouble(p.wallSeconds());
                }
                block.saveParameters(out);
                optimizer.writeState(out);
                out.flush();
                DataOutputStream tail = new DataOutputStream(raw);
                tail.writeLong(crc.getValue());
                tail.flush();
            }
        });
    }

    /**
     * Reads a checkpoint into a rebuilt block and an optimizer.
     *
     * @param file the checkpoint
     * @param block the rebuilt, uninitialized block
     * @param manager the parameters' manager
     * @param optimizer the optimizer whose state is replaced
     * @return the header
     */
    static Header readInto(Path file, Block block, NDManager manager, AdamW optimizer) throws IOException {
        verifyChecksum(file);
        try (DataInputStream in = open(file)) {
            Header h = readHeader(file, in);
            loadParameters(file, in, block, manager, h.trainerConfig().contextLength());
            try {
                optimizer.readState(in, LanguageModelTrainer.trainableParameters(block));
            } catch (IllegalArgumentException e) {
                throw new SconeFormatException(file, "optimizer state does not fit the model: " + e.getMessage(), e);
            } catch (EOFException e) {
                throw new SconeFormatException(file, "truncated optimizer state", e);
            }
            return h;
        }
    }

    private static void loadParameters(Path file, DataInputStream in, Block block, NDManager manager,
            int contextLength) throws IOException {
        // DJL's loadParameters takes whatever shapes the file holds: initialize the rebuilt block in a
        // scratch manager first to learn the shapes its configuration implies, and compare.
        java.util.Map<String, Shape> expected = new java.util.LinkedHashMap<>();
        try (NDManager scratch = manager.newSubManager()) {
            block.initialize(scratch, DataType.FLOAT32, new Shape(1, contextLength), new Shape(1, contextLength));
            for (Pair<String, Parameter> p : block.getParameters()) {
                expected.put(p.getKey(), p.getValue().getArray().getShape());
            }
        }
        try {
            block.loadParameters(manager, in);
        } catch (MalformedModelException | IllegalArgumentException | IllegalStateException e) {
            throw new SconeFormatException(file, "parameters do not fit the model rebuilt from its configuration: "
                    + e.getMessage(), e);
        } catch (EOFException e) {
            throw new SconeFormatException(file, "truncated parameters", e);
        }
        for (Pair<String, Parameter> p : block.getParameters()) {
            Shape got = p.getValue().getArray().getShape();
            if (!got.equals(expected.get(p.getKey()))) {
                throw new SconeFormatException(file, "parameters do not fit the model rebuilt from its configuration: "
                        + p.getKey() + " has shape " + got + " in the checkpoint but " + expected.get(p.getKey())
                        + " in the model");
            }
        }
        // Loading sets arrays but not their gradient flag; initializing a loaded block keeps the
        // loaded arrays and marks the trainable ones as requiring gradients.
        block.initialize(manager, DataType.FLOAT32, new Shape(1, contextLength), new Shape(1, contextLength));
    }

    private static Header readHeader(Path file, DataInputStream in) throws IOException {
        try {
            byte[] magic = new byte[MAGIC.length];
            in.readFully(magic);
            if (!java.util.Arrays.equals(magic, MAGIC)) {
                throw new SconeFormatException(file, "not a scone checkpoint (bad magic number)");
            }
            int version = in.readInt();
            if (version < FORMAT_VERSION_1 || version > FORMAT_VERSION) {
                throw new SconeFormatException(file, "checkpoint format version " + version + " is not supported (this"
                        + " code reads versions " + FORMAT_VERSION_1 + " to " + FORMAT_VERSION + ")");
            }
            String model = readText(file, in);
            TrainerConfig config;
            try {
                config = TrainerConfig.parse(readText(file, in));
            } catch (IllegalArgumentException e) {
                throw new SconeFormatException(file, "bad trainer configuration: " + e.getMessage(), e);
            }
            String signature = readText(file, in);
            String origin = version == FORMAT_VERSION_1 ? "" : readText(file, in);
            long step = in.readLong();
            long tokens = in.readLong();
            long position = in.readLong();
            boolean timed = version > FORMAT_VERSION_2;
            double wall = timed ? in.readDouble() : Double.NaN;
            double lossSum = timed ? in.readDouble() : 0;
            int lossSteps = timed ? in.readInt() : 0;
            int n = in.readInt();
            if (step < 0 || tokens < 0 || position < 0 || n < 0 || n > 10_000_000 || wall < 0 || Double.isInfinite(wall)
                    || lossSteps < 0 || !Double.isFinite(lossSum)) {
                throw new SconeFormatException(file, "bad training counters (step " + step + ", tokens " + tokens
                        + ", position " + position + ", seconds " + wall + ", loss " + lossSum + " over " + lossSteps
                        + " steps, history " + n + ")");
            }
            List<HistoryPoint> history = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                long s = in.readLong();
                long t = in.readLong();
                long vt = in.readLong();
                double nll = in.readDouble();
                long mt = in.readLong();
                double mnll = in.readDouble();
                double trainingLoss = timed ? in.readDouble() : Double.NaN;
                double pointWall = timed ? in.readDouble() : Double.NaN;
                try {
                    history.add(new HistoryPoint(s, t, new PerplexityResult(vt, nll, mt, mnll), trainingLoss, pointWall));
                } catch (IllegalArgumentException e) {
                    throw new SconeFormatException(file, "bad history point " + i + ": " + e.getMessage(), e);
                }
            }
            return new Header(model, config, signature, origin, step, tokens, position, wall, lossSum, lossSteps,
                    Collections.unmodifiableList(history));
        } catch (EOFException e) {
            throw new SconeFormatException(file, "truncated checkpoint header", e);
        }
    }

    private static void verifyChecksum(Path file) throws IOException {
        long size = Files.size(file);
        if (size < MAGIC.length + 4 + 8) {
            throw new SconeFormatException(file, "truncated: " + size + " bytes is too short for a checkpoint");
        }
        CRC32C crc = new CRC32C();
        long stored = 0;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            byte[] buf = new byte[1 << 16];
            long left = size - 8;
            while (left > 0) {
                int r = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (r < 0) {
                    throw new SconeFormatException(file, "truncated while checking");
                }
                crc.update(buf, 0, r);
                left -= r;
            }
            for (int i = 0; i < 8; i++) {
                int b = in.read();
                if (b < 0) {
                    throw new SconeFormatException(file, "truncated while checking");
                }
                stored = (stored << 8) | b;
            }
        }
        if (stored != crc.getValue()) {
            byte[] head = new byte[MAGIC.length];
            try (InputStream in = Files.newInputStream(file)) {
                int r = in.readNBytes(head, 0, head.length);
                if (r < head.length || !java.util.Arrays.equals(head, MAGIC)) {
                    throw new SconeFormatException(file, "not a scone checkpoint (bad magic number)");
                }
            }
            throw new SconeFormatException(file, "checksum mismatch (stored " + Long.toHexString(stored) + ", computed "
                    + Long.toHexString(crc.getValue()) + "): the checkpoint is corrupt or truncated");
        }
    }

    private static DataInputStream open(Path file) throws IOException {
        return new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16));
    }

    private static void writeText(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readText(Path file, DataInputStream in) throws IOException {
        int len = in.readInt();
        if (len < 0 || len > MAX_TEXT) {
            throw new SconeFormatException(file, "bad text length " + len);
        }
        byte[] b = new byte[len];
        in.readFully(b);
        return new String(b, StandardCharsets.UTF_8);
    }
}
