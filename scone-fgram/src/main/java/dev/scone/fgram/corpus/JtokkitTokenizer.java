package dev.scone.fgram.corpus;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;

/**
 * GPT-2's byte-level BPE tokenizer in pure Java (jtokkit's {@code r50k_base} ranks, which are
 * GPT-2's): the same ids as GPT-2's Hugging Face {@code tokenizer.json}, several times faster and
 * holding no native memory. The text {@code <|endoftext|>} becomes the special token 50256, as the
 * Hugging Face tokenizer does.
 */
public final class JtokkitTokenizer implements Tokenizer {

    /** GPT-2's vocabulary size (50,256 BPE tokens and {@code <|endoftext|>}). */
    public static final int GPT2_VOCABULARY_SIZE = 50_257;

    /** GPT-2's end-of-text token id. */
    public static final int END_OF_TEXT_ID = 50_256;

    /** GPT-2's end-of-text marker in text. */
    public static final String END_OF_TEXT = "<|endoftext|>";

    private final Encoding encoding;
    private volatile boolean closed;

    private JtokkitTokenizer(Encoding encoding) {
        this.encoding = encoding;
    }

    /** @return GPT-2's tokenizer */
    public static JtokkitTokenizer gpt2() {
        return new JtokkitTokenizer(Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE));
    }

    @Override
    public String name() {
        return "gpt2";
    }

    @Override
    public int vocabularySize() {
        return GPT2_VOCABULARY_SIZE;
    }

    @Override
    public int[] encode(String text) {
        ensureOpen();
        IntArrayList out = new IntArrayList(Math.max(16, text.length() / 3));
        int from = 0;
        while (true) {
            int at = text.indexOf(END_OF_TEXT, from);
            String piece = at < 0 ? text.substring(from) : text.substring(from, at);
            if (!piece.isEmpty()) {
                IntArrayList ids = encoding.encodeOrdinary(piece);
                for (int i = 0; i < ids.size(); i++) {
                    out.add(ids.get(i));
                }
            }
            if (at < 0) {
                return out.toArray();
            }
            out.add(END_OF_TEXT_ID);
            from = at + END_OF_TEXT.length();
        }
    }

    @Override
    public String decode(int[] ids) {
        ensureOpen();
        Tokenizer.checkIds(ids, GPT2_VOCABULARY_SIZE);
        IntArrayList list = new IntArrayList(ids.length);
        for (int id : ids) {
            list.add(id);
        }
        return encoding.decode(list);
    }

    /** Nothing native to release; later calls fail, as for every tokenizer. */
    @Override
    public void close() {
        closed = true;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("tokenizer " + name() + " is closed");
        }
    }

    @Override
    public String toString() {
        return "JtokkitTokenizer[r50k_base]";
    }
}
