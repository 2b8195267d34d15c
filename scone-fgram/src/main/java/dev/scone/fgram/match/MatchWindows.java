package dev.scone.fgram.match;

import java.util.Objects;

/** Checks of the (B, T) windows that the matchers' {@code matchRows} take. */
final class MatchWindows {

    private MatchWindows() {}

    /**
     * @param window B * T token ids, row-major
     * @param rows B
     * @param cols T
     * @return B * T
     * @throws IllegalArgumentException if the shape is negative or does not fit the window
     */
    static int checkShape(int[] window, int rows, int cols) {
        Objects.requireNonNull(window, "window");
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("window shape (" + rows + ", " + cols + ") is negative");
        }
        if ((long) rows * cols != window.length) {
            throw new IllegalArgumentException("window of " + window.length + " tokens is not (" + rows + ", "
                    + cols + ")");
        }
        return window.length;
    }

    /**
     * @param window B * T token ids, row-major
     * @param rows B
     * @param cols T
     * @param ids destination of the ids, at least B * T long
     * @param lengths destination of the lengths, at least B * T long, or null
     * @return B * T
     */
    static int checkShapeAndDestinations(int[] window, int rows, int cols, int[] ids, int[] lengths) {
        int n = checkShape(window, rows, cols);
        Objects.checkFromIndexSize(0, n, ids.length);
        if (lengths != null) {
            Objects.checkFromIndexSize(0, n, lengths.length);
        }
        return n;
    }
}
