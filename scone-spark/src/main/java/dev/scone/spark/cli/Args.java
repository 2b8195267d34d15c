package dev.scone.spark.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A plain {@code --name value} command line (spark-submit passes the application's arguments
 * through untouched). Flags without a value are written {@code --name}.
 */
public final class Args {

    private final Map<String, String> values = new LinkedHashMap<>();

    private Args() {}

    /**
     * @param args the command line
     * @param flags names that take no value
     * @param known every accepted name (flags included)
     * @return the parsed arguments
     * @throws IllegalArgumentException for an unknown name, a missing value or a repeated name
     */
    public static Args parse(String[] args, Set<String> flags, Set<String> known) {
        Args a = new Args();
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (!name.startsWith("--") || !known.contains(name.substring(2))) {
                throw new IllegalArgumentException("unknown argument '" + name + "'; accepted: --"
                        + String.join(", --", known));
            }
            String key = name.substring(2);
            String value;
            if (flags.contains(key)) {
                value = "true";
            } else {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(name + " needs a value");
                }
                value = args[++i];
            }
            if (a.values.put(key, value) != null) {
                throw new IllegalArgumentException(name + " is given twice");
            }
        }
        return a;
    }

    /** @param name a name @return whether it was given */
    public boolean has(String name) {
        return values.containsKey(name);
    }

    /**
     * @param name a required name
     * @return its value
     * @throws IllegalArgumentException when it is missing
     */
    public String required(String name) {
        String v = values.get(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v;
    }

    /** @param name a name @param fallback default @return its value or the default */
    public String get(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    /**
     * @param name a name
     * @param fallback default
     * @return its value as a long (underscores allowed: 1_000_000)
     * @throws IllegalArgumentException when it is not a number
     */
    public long number(String name, long fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            return Long.parseLong(v.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a whole number, got '" + v + "'");
        }
    }

    /**
     * @param name a name
     * @param fallback default
     * @return its value as an int
     * @throws IllegalArgumentException when it is not an int
     */
    public int integer(String name, int fallback) {
        long v = number(name, fallback);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("--" + name + " is out of range: " + v);
        }
        return (int) v;
    }
}
