package dev.scone.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import dev.scone.fgram.io.AtomicFiles;
import dev.scone.fgram.io.KeyValueText;
import dev.scone.fgram.io.SconeFormatException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;

/**
 * What serving needs from a trained model, and nothing else: the token embedding T, the position
 * embedding, the input norm, the decoder stack and the output head, as an inference
 * {@link CausalLanguageModelBlock} whose input embedding is T alone (a baseline) or T plus a table of
 * precomputed f-gram vectors ({@link TableEmbeddingBlock}, a SCONE model). A_fgram and V_fgram are
 * not part of it: they stay with training, and their work at inference is the store's.
 *
 * <p>An export file ({@link #export}) holds the model's configuration, its {@link Binding} (the
 * identities of the weights, of the f-gram model the store's vectors come from, of V_fgram and of
 * the token vocabulary, so that a store from another model is refused), optionally the token
 * compaction the model was trained with, and the serving parameters by name. Layout (big-endian):
 * magic {@code "SCONEINF"}, format version (int), the header text, the compaction (length-prefixed
 * bytes, length 0 for none), the parameter count, then per parameter its name, shape and float32
 * values, and a CRC32C of everything before it (8 bytes). It is written under a temporary name and
 * renamed into place when complete.
 *
 * <p>{@link #load} builds the block from an export and a table; {@link #fromTrained} builds the same
 * block in memory from a trained model (its weights copied), so that the two paths run the same
 * code. The parameters live in the manager the caller gives, who closes it.
 */
public final class InferenceModel {

    /** The file's first 8 bytes. */
    public static final byte[] MAGIC = "SCONEINF".getBytes(StandardCharsets.US_ASCII);

    /** The format version this code writes and reads. */
    public static final int FORMAT_VERSION = 1;

    /** What a store records for a field nobody set. */
    public static final String UNSPECIFIED = "unspecified";

    // DJL names a child's parameters "<ordinal><child>_..." (e.g. 01inputEmbedding_02fgramModel_positions).
    private static final java.util.regex.Pattern FGRAM_MODEL = java.util.regex.Pattern.compile(
            "^\\d*inputEmbedding_\\d*fgramModel_.*");
    private static final int MAX_TEXT = 1 << 24;
    private static final int MAX_COMPACTION = 1 << 28;

    /**
     * The identities an inference model and its store must share.
     *
     * @param mainModelFingerprint fingerprint of the serving weights (every parameter but A_fgram's)
     * @param fgramModelFingerprint fingerprint of T and A_fgram, which the store's vectors come from
     *     (what a store's manifest calls its model fingerprint); {@code null} for a baseline
     * @param fgramVocabularyFingerprint V_fgram's fingerprint; {@code null} for a baseline
     * @param maxN K; 0 for a baseline
     * @param fgramCount S; 0 for a baseline
     * @param tokenVocabularyFingerprint the token vocabulary's fingerprint, or {@value #UNSPECIFIED}
     */
    public record Binding(String mainModelFingerprint, String fgramModelFingerprint,
            String fgramVocabularyFingerprint, int maxN, int fgramCount, String tokenVocabularyFingerprint) {

        /** Checks that a SCONE binding names its f-gram side and a baseline none. */
        public Binding {
            Objects.requireNonNull(mainModelFingerprint, "mainModelFingerprint");
            Objects.requireNonNull(tokenVocabularyFingerprint, "tokenVocabularyFingerprint");
            if ((fgramModelFingerprint == null) != (fgramVocabularyFingerprint == null)) {
                throw new IllegalArgumentException("give both the f-gram model and the f-gram vocabulary fingerprint,"
                        + " or neither");
            }
        }

        /** @return whether this is a SCONE model's binding */
        public boolean isScone() {
            return fgramModelFingerprint != null;
        }
    }

    /**
     * An export's header: everything but the parameters.
     *
     * @param spec the model's configuration and f-gram vocabulary identity
     * @param binding the identities the store must share
     * @param compaction the token compaction file's bytes, or {@code null}
     */
    public record Header(LanguageModel.Spec spec, Binding binding, byte[] compaction) {

        /** @return the architecture */
        public LanguageModelConfig config() {
            return spec.config();
        }
    }

    private final Header header;
    private final CausalLanguageModelBlock block;

    private InferenceModel(Header header, CausalLanguageModelBlock block) {
        this.header = header;
        this.block = block;
    }

    /** @return the configuration and the binding */
    public Header header() {
        return header;
    }

    /** @return the binding */
    public Binding binding() {
        return header.binding();
    }

    /** @return the inference block: T (and the table) in, logits out */
    public CausalLanguageModelBlock block() {
        return block;
    }

    /** @return whether this is a SCONE model */
    public boolean isScone() {
        return header.binding().isScone();
    }

    /**
     * The fingerprint of a model's serving weights: {@link ParameterFingerprint} over every
     * parameter except A_fgram's. A trained SCONE model and the inference model built from it give
     * the same value, since their serving parameters have the same names and values.
     *
     * @param block an initialized model block, trained or for inference
     * @return 32 hex digits
     */
    public static String mainModelFingerprint(CausalLanguageModelBlock block) {
        return ParameterFingerprint.of(servingParameters(block));
    }

    /**
     * What binds a trained model to the stores and exports made from it.
     *
     * @param trained an initialized trained model
     * @param tokenVocabularyFingerprint the token vocabulary's fingerprint (or {@value #UNSPECIFIED})
     * @return the binding
     */
    public static Binding bindingOf(LanguageModel trained, String tokenVocabularyFingerprint) {
        Objects.requireNonNull(trained, "trained");
        String main = mainModelFingerprint(trained.block());
        if (!trained.isScone()) {
            return new Binding(main, null, null, 0, 0, tokenVocabularyFingerprint);
        }
        SconeEmbeddingBlock s = trained.sconeEmbedding();
        return new Binding(main, ParameterFingerprint.of(s), s.vocabulary().fingerprint(), s.vocabulary().maxN(),
                s.vocabulary().size(), tokenVocabularyFingerprint);
    }

    /**
     * Builds the inference model of a trained one in memory, copying its serving weights into
     * {@code manager}.
     *
     * @param trained an initialized trained model
     * @param table the f-gram vectors for a SCONE model (computed from {@code trained}), {@code null}
     *     for a baseline
     * @param tokenVocabularyFingerprint the token vocabulary's fingerprint (or {@value #UNSPECIFIED})
     * @param manager where the copied parameters live
     * @return the inference model
     * @throws IllegalArgumentException when the table is missing, superfluous, of another size or K,
     *     or says it comes from other weights
     */
    public static InferenceModel fromTrained(LanguageModel trained, FgramEmbeddingTable table,
            String tokenVocabularyFingerprint, NDManager manager) {
        Header header = new Header(trained.spec(), bindingOf(trained, tokenVocabularyFingerprint), null);
        CausalLanguageModelBlock block = build(header, table, manager, "the trained model");
        Map<String, Parameter> source = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : servingParameters(trained.block())) {
            source.put(p.getKey(), p.getValue());
        }
        for (Pair<String, Parameter> p : block.getParameters()) {
            Parameter from = source.get(p.getKey());
            if (from == null) {
                throw new IllegalStateException("the trained model has no parameter " + p.getKey());
            }
            NDArray src = from.getArray();
            if (!src.getShape().equals(p.getValue().getArray().getShape())) {
                throw new IllegalStateException(p.getKey() + " has shape " + src.getShape() + " in the trained model but "
                        + p.getValue().getArray().getShape() + " in the inference model");
            }
            p.getValue().getArray().set(src.toType(DataType.FLOAT32, false).toFloatArray());
        }
        return new InferenceModel(header, block);
    }

    /**
     * Writes what serving needs from a trained model into one file.
     *
     * @param trained an initialized trained model
     * @param file the export file (replaced atomically)
     * @param tokenVocabularyFingerprint the token vocabulary's fingerprint (or {@value #UNSPECIFIED})
     * @param compaction the token compaction file's bytes to carry along, or {@code null}
     * @return the header written
     * @throws IOException when writing fails (nothing is then published)
     */
    public static Header export(LanguageModel trained, Path file, String tokenVocabularyFingerprint,
            byte[] compaction) throws IOException {
        Objects.requireNonNull(file, "file");
        Header header = new Header(trained.spec(), bindingOf(trained, tokenVocabularyFingerprint), compaction);
        PairList<String, Parameter> params = servingParameters(trained.block());
        AtomicFiles.write(file, tmp -> {
            try (OutputStream raw = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                CRC32C crc = new CRC32C();
                DataOutputStream out = new DataOutputStream(new CheckedOutputStream(raw, crc));
                out.write(MAGIC);
                out.writeInt(FORMAT_VERSION);
                writeBytes(out, headerText(header).getBytes(StandardCharsets.UTF_8));
                writeBytes(out, compaction == null ? new byte[0] : compaction);
                out.writeInt(params.size());
                for (Pair<String, Parameter> p : params) {
                    NDArray a = p.getValue().getArray();
                    out.writeUTF(p.getKey());
                    long[] shape = a.getShape().getShape();
                    out.writeInt(shape.length);
                    for (long d : shape) {
                        out.writeLong(d);
                    }
                    float[] values = a.toType(DataType.FLOAT32, false).toFloatArray();
                    ByteBuffer buf = ByteBuffer.allocate(4 * values.length).order(ByteOrder.BIG_ENDIAN);
                    buf.asFloatBuffer().put(values);
                    out.write(buf.array());
                }
                out.flush();
                new DataOutputStream(raw).writeLong(crc.getValue());
            }
        });
        return header;
    }

    /**
     * Reads an export's header (the whole file's checksum is verified first).
     *
     * @param file the export
     * @return its header
     * @throws SconeFormatException when the file is not an export, of another version, truncated or corrupt
     * @throws IOException when it cannot be read
     */
    public static Header readHeader(Path file) throws IOException {
        verifyChecksum(file);
        try (DataInputStream in = open(file)) {
            return readHeader(file, in);
        }
    }

    /**
     * Loads an export into an inference model.
     *
     * @param file the export
     * @param table the f-gram vectors of a SCONE model (a store opened against {@link Header#binding()}),
     *     {@code null} for a baseline
     * @param manager where the parameters live
     * @return the inference model
     * @throws SconeFormatException when the file is damaged or its parameters do not fit its configuration
     * @throws IllegalArgumentException when the table is missing, superfluous, of another size or K,
     *     or says it comes from other weights than the export's
     * @throws IOException when it cannot be read
     */
    public static InferenceModel load(Path file, FgramEmbeddingTable table, NDManager manager) throws IOException {
        verifyChecksum(file);
        try (DataInputStream in = open(file)) {
            Header header = readHeader(file, in);
            CausalLanguageModelBlock block = build(header, table, manager, file.toString());
            Map<String, Parameter> params = new LinkedHashMap<>();
            for (Pair<String, Parameter> p : block.getParameters()) {
                params.put(p.getKey(), p.getValue());
            }
            int n = in.readInt();
            if (n != params.size()) {
                throw new SconeFormatException(file, "holds " + n + " parameters but its configuration has "
                        + params.size());
            }
            for (int i = 0; i < n; i++) {
                String name = in.readUTF();
                Parameter p = params.remove(name);
                if (p == null) {
                    throw new SconeFormatException(file, "parameter '" + name + "' is not part of the model its"
                            + " configuration describes (or appears twice)");
                }
                int rank = in.readInt();
                if (rank < 0 || rank > 8) {
                    throw new SconeFormatException(file, "parameter '" + name + "' has rank " + rank);
                }
                long[] dims = new long[rank];
                for (int d = 0; d < rank; d++) {
                    dims[d] = in.readLong();
                }
                Shape shape = new Shape(dims);
                if (!shape.equals(p.getArray().getShape())) {
                    throw new SconeFormatException(file, "parameter '" + name + "' has shape " + shape + " but the"
                            + " configuration gives " + p.getArray().getShape());
                }
                byte[] bytes = new byte[Math.toIntExact(4 * shape.size())];
                in.readFully(bytes);
                float[] values = new float[(int) shape.size()];
                ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN).asFloatBuffer().get(values);
                p.getArray().set(values);
            }
            return new InferenceModel(header, block);
        } catch (EOFException e) {
            throw new SconeFormatException(file, "truncated inference model", e);
        }
    }

    /** The block a header describes, initialized in {@code manager}, with the table checked. */
    private static CausalLanguageModelBlock build(Header header, FgramEmbeddingTable table, NDManager manager,
            String source) {
        Objects.requireNonNull(manager, "manager");
        LanguageModelConfig config = header.config();
        Binding b = header.binding();
        TokenEmbeddingBlock t = new TokenEmbeddingBlock(config.vocabularySize(), config.embeddingSize());
        InputEmbeddingBlock input;
        if (!b.isScone()) {
            if (table != null) {
                throw new IllegalArgumentException(source + " holds a baseline: it reads no f-gram store");
            }
            input = t;
        } else {
            if (table == null) {
                throw new IllegalArgumentException(source + " holds a SCONE model: give the f-gram store precomputed"
                        + " from it");
            }
            if (table.embeddingSize() != config.embeddingSize() || table.maxN() != b.maxN()) {
                throw new IllegalArgumentException("the f-gram table (E = " + table.embeddingSize() + ", K = "
                        + table.maxN() + ") does not fit " + source + " (E = " + config.embeddingSize() + ", K = "
                        + b.maxN() + ")");
            }
            String tableModel = table.fgramModelFingerprint();
            if (tableModel != null && !tableModel.equals(b.fgramModelFingerprint())) {
                throw new IllegalArgumentException("the f-gram table's vectors come from model " + tableModel + " but "
                        + source + " was trained with f-gram model " + b.fgramModelFingerprint());
            }
            input = new TableEmbeddingBlock(t, table, config.fgramCombine());
        }
        CausalLanguageModelBlock block = new CausalLanguageModelBlock(config, input);
        int c = config.contextLength();
        block.initialize(manager, DataType.FLOAT32, new Shape(1, c), new Shape(1, c));
        return block;
    }

    /** Every parameter of a model block except A_fgram's, in the block's order. */
    private static PairList<String, Parameter> servingParameters(CausalLanguageModelBlock block) {
        PairList<String, Parameter> out = new PairList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (!FGRAM_MODEL.matcher(p.getKey()).matches()) {
                out.add(p);
            }
        }
        return out;
    }

    private static String headerText(Header h) {
        Binding b = h.binding();
        KeyValueText.Builder kv = KeyValueText.builder(null).put("mainModelFingerprint", b.mainModelFingerprint());
        if (b.isScone()) {
            kv.put("fgramModelFingerprint", b.fgramModelFingerprint());
        }
        kv.put("tokenVocabularyFingerprint", b.tokenVocabularyFingerprint());
        return kv.toText(KeyValueText.Seal.NONE) + "model:\n" + h.spec().toText();
    }

    private static Header readHeader(Path file, DataInputStream in) throws IOException {
        try {
            byte[] magic = new byte[MAGIC.length];
            in.readFully(magic);
            if (!java.util.Arrays.equals(magic, MAGIC)) {
                throw new SconeFormatException(file, "not a scone inference model (bad magic number)");
            }
            int version = in.readInt();
            if (version != FORMAT_VERSION) {
                throw new SconeFormatException(file, "inference model format version " + version + " is not supported"
                        + " (this code reads version " + FORMAT_VERSION + ")");
            }
            String text = new String(readBytes(file, in, MAX_TEXT), StandardCharsets.UTF_8);
            byte[] compaction = readBytes(file, in, MAX_COMPACTION);
            int cut = text.indexOf("model:\n");
            if (cut < 0) {
                throw new SconeFormatException(file, "the header has no model section");
            }
            KeyValueText kv;
            try {
                kv = KeyValueText.parse(text.substring(0, cut), null, KeyValueText.Seal.NONE);
            } catch (IllegalArgumentException e) {
                throw new SconeFormatException(file, "malformed header: " + e.getMessage(), e);
            }
            LanguageModel.Spec spec;
            try {
                spec = LanguageModel.Spec.parse(text.substring(cut + "model:\n".length()));
            } catch (IllegalArgumentException e) {
                throw new SconeFormatException(file, "bad model configuration: " + e.getMessage(), e);
            }
            String main = kv.has("mainModelFingerprint") ? kv.string("mainModelFingerprint") : null;
            String token = kv.has("tokenVocabularyFingerprint") ? kv.string("tokenVocabularyFingerprint") : null;
            String fgramModel = kv.has("fgramModelFingerprint") ? kv.string("fgramModelFingerprint") : null;
            if (main == null || token == null || spec.config().isScone() != (fgramModel != null)) {
                throw new SconeFormatException(file, "the header lacks a fingerprint (main model, token vocabulary, or"
                        + " the f-gram model of a SCONE model)");
            }
            Binding binding = new Binding(main, fgramModel, spec.fgramFingerprint(), spec.fgramMaxN(),
                    spec.fgramCount(), token);
            return new Header(spec, binding, compaction.length == 0 ? null : compaction);
        } catch (EOFException e) {
            throw new SconeFormatException(file, "truncated inference model header", e);
        }
    }

    private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    private static byte[] readBytes(Path file, DataInputStream in, int max) throws IOException {
        int len = in.readInt();
        if (len < 0 || len > max) {
            throw new SconeFormatException(file, "bad section length " + len);
        }
        byte[] b = new byte[len];
        in.readFully(b);
        return b;
    }

    private static void verifyChecksum(Path file) throws IOException {
        if (Files.isDirectory(file)) {
            throw new SconeFormatException(file, "is a folder, not an inference model file");
        }
        long size = Files.size(file);
        if (size < MAGIC.length + 4 + 8) {
            throw new SconeFormatException(file, "truncated: " + size + " bytes is too short for an inference model");
        }
        CRC32C crc = new CRC32C();
        long stored;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            byte[] head = in.readNBytes(MAGIC.length);
            if (!java.util.Arrays.equals(head, MAGIC)) {
                throw new SconeFormatException(file, "not a scone inference model (bad magic number)");
            }
            crc.update(head);
            byte[] buf = new byte[1 << 16];
            long left = size - 8 - MAGIC.length;
            while (left > 0) {
                int r = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (r < 0) {
                    throw new SconeFormatException(file, "truncated while checking");
                }
                crc.update(buf, 0, r);
                left -= r;
            }
            stored = new DataInputStream(in).readLong();
        }
        if (stored != crc.getValue()) {
            throw new SconeFormatException(file, "checksum mismatch (stored " + Long.toHexString(stored) + ", computed "
                    + Long.toHexString(crc.getValue()) + "): the inference model is corrupt or truncated");
        }
    }

    private static DataInputStream open(Path file) throws IOException {
        return new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16));
    }
}
