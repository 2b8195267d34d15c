package dev.scone.core;

import java.util.Locale;

/** How a matched position's f-gram vector enters the main model. */
public enum FgramCombine {

    /** The f-gram vector replaces T(token), as the paper specifies (the default). */
    REPLACE("replace"),

    /** The f-gram vector is added to T(token): an ablation, not the paper's method. */
    ADD("add");

    private final String id;

    FgramCombine(String id) {
        this.id = id;
    }

    /** @return the name used in configuration files and on the command line */
    public String id() {
        return id;
    }

    /**
     * @param id a name from {@link #id()} (case-insensitive)
     * @return the combination
     * @throws IllegalArgumentException naming the accepted values
     */
    public static FgramCombine of(String id) {
        for (FgramCombine c : values()) {
            if (c.id.equals(id.strip().toLowerCase(Locale.ROOT))) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown f-gram combination '" + id + "' (expected replace or add)");
    }
}
