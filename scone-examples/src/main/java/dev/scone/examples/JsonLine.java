package dev.scone.examples;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import com.google.gson.Strictness;
import com.google.gson.reflect.TypeToken;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One-line JSON objects of strings, numbers, booleans, nulls and arrays of those, through Gson: the
 * experiment's results file. Non-finite numbers are written as null.
 */
final class JsonLine {

    private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping()
            .setStrictness(Strictness.STRICT).create();

    private static final TypeToken<LinkedHashMap<String, Object>> OBJECT = new TypeToken<>() {};

    private JsonLine() {}

    /**
     * @param object field names to values (String, Number, Boolean, null, long[], double[] or List)
     * @return the object as one line of JSON, without a line break
     */
    static String write(Map<String, ?> object) {
        Map<String, Object> finite = new LinkedHashMap<>();
        object.forEach((k, v) -> finite.put(k, finite(v)));
        return GSON.toJson(finite);
    }

    // Non-finite doubles (alone or in a double[]) as null, which JSON can hold.
    private static Object finite(Object v) {
        if (v instanceof Double d && !Double.isFinite(d)) {
            return null;
        }
        if (v instanceof double[] a) {
            List<Double> l = new ArrayList<>(a.length);
            for (double x : a) {
                l.add(Double.isFinite(x) ? x : null);
            }
            return l;
        }
        return v;
    }

    /**
     * Parses one JSON object.
     *
     * @param line the text
     * @return its fields in order; numbers as Double, arrays as List
     * @throws IllegalArgumentException when the text is not one well-formed JSON object
     */
    static Map<String, Object> read(String line) {
        try {
            Map<String, Object> m = GSON.fromJson(line, OBJECT);
            if (m == null) {
                throw new IllegalArgumentException("bad JSON: no object in '" + line + "'");
            }
            return m;
        } catch (JsonParseException e) {
            throw new IllegalArgumentException("bad JSON: " + e.getMessage(), e);
        }
    }
}
