package dev.scone.fgram.nn;

import java.util.Locale;

/**
 * What A_fgram returns at an f-gram's last position, and so on what scale its vector enters the
 * main model in place of a token embedding (token rows start as N(0, 0.02), RMS 0.02).
 */
public enum FgramOutput {

    /** The decoder stack's final layer norm (learned gain and bias): RMS about 1 at initialisation. */
    LAYER_NORM("layernorm"),

    /**
     * The residual stream without a final norm: the last token's embedding plus what the layers add,
     * on the token rows' scale at initialisation.
     */
    NONE("none"),

    /**
     * The final layer norm times one learned scalar gain that starts at {@link #SCALED_INITIAL_GAIN},
     * so that the vector starts on the token rows' scale and the model learns how loud it should be.
     */
    SCALED("scaled");

    /** The scalar gain's initial value: the standard deviation of the token rows' initialisation. */
    public static final float SCALED_INITIAL_GAIN = 0.02f;

    private final String id;

    FgramOutput(String id) {
        this.id = id;
    }

    /** @return the name used in configuration files and on the command line */
    public String id() {
        return id;
    }

    /**
     * @param id a name from {@link #id()} (case-insensitive)
     * @return the output kind
     * @throws IllegalArgumentException naming the accepted values
     */
    public static FgramOutput of(String id) {
        for (FgramOutput o : values()) {
            if (o.id.equals(id.strip().toLowerCase(Locale.ROOT))) {
                return o;
            }
        }
        throw new IllegalArgumentException("unknown f-gram output '" + id + "' (expected layernorm, none or scaled)");
    }
}
