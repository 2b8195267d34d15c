package dev.scone.fgram.io;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import java.util.zip.Checksum;

/**
 * scone's human-readable text format: an optional first line, then {@code key=value} lines in a
 * fixed order, then (when sealed) a last line {@code checksum=} with the checksum of every byte
 * before it as 8 lower-case hex digits. Store manifests, sharded manifests, the model
 * configuration, the model specification and the trainer configuration are all written and read
 * through this one class.
 *
 * <p>Reading is strict where it matters and lenient where the text was never ambiguous: the
 * checksum and the first line are checked before anything else, a key may appear only once,
 * blank lines and lines starting with {@code #} are skipped, values are kept exactly as written
 * and the typed accessors ignore surrounding spaces. Every problem is an
 * {@link IllegalArgumentException} with a one-line message; owners of a file wrap it in a
 * {@link SconeFormatException} naming the file.
 *
 * <pre>{@code
 * String text = KeyValueText.builder("format=my-format").put("version", 1).put("size", 42).toText(Seal.CRC32C);
 * KeyValueText kv = KeyValueText.parse(text, "format=my-format", Seal.CRC32C);
 * long size = kv.count("size", Long.MAX_VALUE);
 * }</pre>
 */
public final class KeyValueText {

    /** How the last line seals a text. */
    public enum Seal {
        /** No checksum line. */
        NONE,
        /** A CRC-32 (the model configuration's seal since its first version). */
        CRC32,
        /** A CRC-32C (manifests). */
        CRC32C;

        /** @return the checksum of the UTF-8 bytes of {@code body} as 8 lower-case hex digits */
        String of(String body) {
            Checksum c = this == CRC32 ? new CRC32() : new CRC32C();
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            c.update(bytes, 0, bytes.length);
            return hex32(c.getValue());
        }
    }

    /** The key of the sealing line. */
    public static final String CHECKSUM_KEY = "checksum";

    private final Map<String, String> values;

    private KeyValueText(Map<String, String> values) {
        this.values = Collections.unmodifiableMap(values);
    }

    /**
     * @param firstLine a line written before the fields (a header such as {@code format=name} or
     *     {@code name v1}), or {@code null} for none
     * @return a builder of a text
     */
    public static Builder builder(String firstLine) {
        return new Builder(firstLine);
    }

    /**
     * Parses a text.
     *
     * @param text the text
     * @param firstLine the line it must start with, or {@code null} when any (the first line is
     *     then a field like the others)
     * @param seal how it is sealed
     * @return the fields, in order (without the first line and the checksum)
     * @throws IllegalArgumentException naming the first problem: another first line, no or a
     *     wrong checksum, a line that is no {@code key=value}, a key given twice
     */
    public static KeyValueText parse(String text, String firstLine, Seal seal) {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(seal, "seal");
        String body = text;
        if (seal != Seal.NONE) {
            int at = text.startsWith(CHECKSUM_KEY + "=") ? 0 : text.lastIndexOf("\n" + CHECKSUM_KEY + "=") + 1;
            if (at == 0 && !text.startsWith(CHECKSUM_KEY + "=")) {
                throw new IllegalArgumentException("no checksum line: the text is truncated");
            }
            body = text.substring(0, at);
            String stored = text.substring(at + CHECKSUM_KEY.length() + 1).strip();
            String computed = seal.of(body);
            if (!stored.equals(computed)) {
                throw new IllegalArgumentException("checksum mismatch (stored " + abbreviate(stored) + ", computed "
                        + computed + "): the text is damaged");
            }
        }
        if (firstLine != null) {
            int nl = text.indexOf('\n');
            String first = nl < 0 ? text : text.substring(0, nl);
            if (!first.strip().equals(firstLine)) {
                int eq = firstLine.indexOf('=');
                if (eq > 0 && first.startsWith(firstLine.substring(0, eq + 1))) {
                    throw new IllegalArgumentException(firstLine.substring(0, eq) + " is '" + first.substring(eq + 1)
                            + "', expected '" + firstLine.substring(eq + 1) + "'");
                }
                throw new IllegalArgumentException("must start with '" + firstLine + "', got '" + abbreviate(first)
                        + "'");
            }
        }
        Map<String, String> values = new LinkedHashMap<>();
        String[] lines = body.split("\n");
        for (int i = firstLine == null ? 0 : 1; i < lines.length; i++) {
            String line = lines[i];
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq < 1) {
                throw new IllegalArgumentException("line " + (i + 1) + " is not key=value: '" + abbreviate(line) + "'");
            }
            String key = line.substring(0, eq).strip();
            if (values.put(key, line.substring(eq + 1)) != null) {
                throw new IllegalArgumentException("key '" + key + "' appears twice");
            }
        }
        return new KeyValueText(values);
    }

    /** @return the keys, in the order written */
    public Set<String> keys() {
        return values.keySet();
    }

    /**
     * @param key a key
     * @return whether the text has it
     */
    public boolean has(String key) {
        return values.containsKey(key);
    }

    /**
     * @param key a key
     * @return its value as written
     * @throws IllegalArgumentException when the text lacks it
     */
    public String string(String key) {
        String v = values.get(key);
        if (v == null) {
            throw new IllegalArgumentException("missing key '" + key + "'");
        }
        return v;
    }

    /**
     * @param key a key
     * @return its value as an {@code int}
     * @throws IllegalArgumentException when missing or not an integer
     */
    public int integer(String key) {
        String v = string(key).strip();
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + key + "' is '" + abbreviate(v) + "', not an integer", e);
        }
    }

    /**
     * @param key a key
     * @return its value as a {@code long}
     * @throws IllegalArgumentException when missing or not an integer
     */
    public long longValue(String key) {
        String v = string(key).strip();
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + key + "' is '" + abbreviate(v) + "', not an integer", e);
        }
    }

    /**
     * @param key a key
     * @param max the largest value allowed
     * @return its value, a count in {@code [0, max]}
     * @throws IllegalArgumentException when missing, not an integer or out of range
     */
    public long count(String key, long max) {
        long v = longValue(key);
        if (v < 0 || v > max) {
            throw new IllegalArgumentException("'" + key + "' is " + v + ", outside [0, " + max + "]");
        }
        return v;
    }

    /**
     * @param key a key
     * @return its value as a {@code float}
     * @throws IllegalArgumentException when missing or not a number
     */
    public float real(String key) {
        String v = string(key).strip();
        try {
            return Float.parseFloat(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + key + "' is '" + abbreviate(v) + "', not a number", e);
        }
    }

    /**
     * @param key a key
     * @return its value, {@code true} or {@code false}
     * @throws IllegalArgumentException when missing or anything else
     */
    public boolean bool(String key) {
        String v = string(key).strip();
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException("'" + key + "' is '" + abbreviate(v) + "', not true or false");
        }
        return Boolean.parseBoolean(v);
    }

    /**
     * @param key a key
     * @return its value, 8 lower-case hex digits, as an unsigned 32-bit number
     * @throws IllegalArgumentException when missing or anything else
     */
    public long hex32(String key) {
        String v = string(key).strip();
        if (!v.matches("[0-9a-f]{8}")) {
            throw new IllegalArgumentException("'" + key + "' is '" + abbreviate(v) + "', not 8 hex digits");
        }
        return Long.parseLong(v, 16);
    }

    /**
     * @param value an unsigned 32-bit number (the low 32 bits are used)
     * @return it as 8 lower-case hex digits, as {@link #hex32(String)} reads it
     */
    public static String hex32(long value) {
        String h = Long.toHexString(value & 0xFFFFFFFFL);
        return "0".repeat(8 - h.length()) + h;
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    /** Collects the fields of a text, in order. */
    public static final class Builder {
        private final StringBuilder body = new StringBuilder();
        private final Set<String> keys = new java.util.HashSet<>();

        private Builder(String firstLine) {
            if (firstLine != null && firstLine.contains("\n")) {
                throw new IllegalArgumentException("the first line must be one line");
            }
            if (firstLine != null) {
                body.append(firstLine).append('\n');
            }
        }

        /**
         * Adds a field.
         *
         * @param key the key: no {@code =}, no line break, not blank, not {@value #CHECKSUM_KEY}
         * @param value the value ({@link String#valueOf(Object)}): no line break
         * @return this
         * @throws IllegalArgumentException for a bad key or value, or a key given twice
         */
        public Builder put(String key, Object value) {
            String v = String.valueOf(value);
            if (key.isBlank() || key.contains("=") || key.contains("\n") || key.equals(CHECKSUM_KEY)
                    || !key.equals(key.strip())) {
                throw new IllegalArgumentException("bad key '" + key + "'");
            }
            if (v.contains("\n") || v.contains("\r")) {
                throw new IllegalArgumentException("the value of '" + key + "' must be one line");
            }
            if (!keys.add(key)) {
                throw new IllegalArgumentException("key '" + key + "' given twice");
            }
            body.append(key).append('=').append(v).append('\n');
            return this;
        }

        /**
         * @param seal how to seal it
         * @return the text: the first line, the fields, and the checksum line unless {@link Seal#NONE}
         */
        public String toText(Seal seal) {
            String text = body.toString();
            return seal == Seal.NONE ? text : text + CHECKSUM_KEY + "=" + seal.of(text) + "\n";
        }
    }
}
