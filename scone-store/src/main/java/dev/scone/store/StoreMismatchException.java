package dev.scone.store;

import java.nio.file.Path;

/**
 * A store is sound but was built for something else than the caller expects (another
 * vocabulary, model, dimension or dtype). The message names the field and both values.
 */
public final class StoreMismatchException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    private final String field;
    private final String expected;
    private final String actual;

    /**
     * @param store the store folder
     * @param field the manifest field that differs
     * @param expected the caller's value
     * @param actual the store's value
     */
    public StoreMismatchException(Path store, String field, String expected, String actual) {
        this(store, field, expected, actual, null);
    }

    /**
     * @param store the store folder
     * @param field the manifest field that differs
     * @param expected the caller's value
     * @param actual the store's value
     * @param remedy what it means and what to do, appended to the message; {@code null}: nothing
     */
    public StoreMismatchException(Path store, String field, String expected, String actual, String remedy) {
        super(store + ": manifest field " + field + " is '" + actual + "' but '" + expected + "' was expected"
                + (remedy == null ? "" : ": " + remedy));
        this.field = field;
        this.expected = expected;
        this.actual = actual;
    }

    /** @return the manifest field that differs */
    public String field() {
        return field;
    }

    /** @return the value the caller expected */
    public String expected() {
        return expected;
    }

    /** @return the store's value */
    public String actual() {
        return actual;
    }
}
