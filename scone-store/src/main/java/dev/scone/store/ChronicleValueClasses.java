package dev.scone.store;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The classes that Chronicle Map would otherwise compile with {@code javac} inside every process
 * that opens a map, compiled once at build time instead.
 *
 * <p>Chronicle Map keeps part of its file header in a Chronicle Values interface
 * ({@code VanillaGlobalMutableState}); the first map a JVM opens makes Chronicle Values generate
 * the Java source of that interface's off-heap implementation and compile it in-process, which
 * loads the whole compiler (over a thousand classes), takes one to two seconds and leaves tens of
 * MiB of heap and metaspace behind, in a serving process as much as in a writer. Chronicle Values
 * looks for the class with its class loader before it compiles it, so scone's build
 * ({@link #main}) compiles the same generated source into a resource, with the SHA-256 of the
 * source; {@link #install()} (called before scone opens or creates any map) regenerates the
 * source with the Chronicle Values on the class path at run time, and only when it hashes to the
 * recorded value defines the prebuilt class beside its interface. With any other Chronicle
 * version, or when the class is already there, nothing is defined and Chronicle compiles as it
 * would without scone: the prebuilt class is an exact copy of what it would compile, never a
 * substitute for it.
 */
final class ChronicleValueClasses {

    private static final Logger LOG = LoggerFactory.getLogger(ChronicleValueClasses.class);

    /** The Chronicle Values interfaces that Chronicle Map implements at run time for scone's maps. */
    static final List<String> INTERFACES = List.of("net.openhft.chronicle.hash.VanillaGlobalMutableState");

    /** Chronicle Values' suffix for the off-heap implementation of a value interface. */
    static final String NATIVE_SUFFIX = "$$Native";

    /** Where the prebuilt classes lie, relative to this class's package. */
    static final String RESOURCE_FOLDER = "chronicle-values/";

    /** What {@link #install()} did with one interface. */
    enum Outcome {
        /** The prebuilt class was defined. */
        INSTALLED,
        /** The class already existed (compiled by Chronicle, or defined before): left as it is. */
        PRESENT,
        /** No prebuilt class in the resources (a build that skipped the step). */
        MISSING,
        /** The Chronicle Values at run time generates other source than at build time. */
        STALE,
        /** Chronicle Values' generator could not be reached (another version's internals). */
        UNAVAILABLE
    }

    private static Map<String, Outcome> outcomes;

    private ChronicleValueClasses() {
    }

    /**
     * Defines every prebuilt class whose source Chronicle Values still generates identically; at
     * most once per class loader of this class. Never throws: whatever it cannot define,
     * Chronicle compiles as before.
     *
     * @return what happened to each of {@link #INTERFACES}
     */
    static synchronized Map<String, Outcome> install() {
        if (outcomes == null) {
            Map<String, Outcome> done = new LinkedHashMap<>();
            for (String name : INTERFACES) {
                Outcome o = installOne(name);
                done.put(name, o);
                if (o == Outcome.INSTALLED || o == Outcome.PRESENT) {
                    LOG.debug("{}{}: {}", name, NATIVE_SUFFIX, o);
                } else {
                    LOG.info("{}{}: {}; Chronicle Map compiles it at run time (slower first open, more memory)",
                            name, NATIVE_SUFFIX, describe(o));
                }
            }
            outcomes = Map.copyOf(done);
        }
        return outcomes;
    }

    private static String describe(Outcome o) {
        return switch (o) {
            case MISSING -> "no prebuilt class in scone-store's resources";
            case STALE -> "the Chronicle Values on the class path generates other source than scone was built with";
            case UNAVAILABLE -> "Chronicle Values' source generator is not reachable in this version";
            default -> o.toString().toLowerCase(Locale.ROOT);
        };
    }

    private static Outcome installOne(String interfaceName) {
        byte[] bytes;
        String recordedHash;
        try {
            bytes = resource(interfaceName + NATIVE_SUFFIX + ".bytes");
            byte[] hash = resource(interfaceName + NATIVE_SUFFIX + ".sha256");
            if (bytes == null || hash == null) {
                return Outcome.MISSING;
            }
            recordedHash = new String(hash, StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            return Outcome.MISSING;
        }
        return define(interfaceName, bytes, recordedHash);
    }

    /**
     * Defines {@code bytes} as the native class of {@code interfaceName} when the source that
     * Chronicle Values generates for it now hashes to {@code recordedHash}.
     */
    static Outcome define(String interfaceName, byte[] bytes, String recordedHash) {
        Class<?> itf;
        String source;
        try {
            itf = Class.forName(interfaceName, false, ChronicleValueClasses.class.getClassLoader());
            source = generateSource(itf);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            LOG.debug("cannot generate the source of {}{}", interfaceName, NATIVE_SUFFIX, e);
            return Outcome.UNAVAILABLE;
        }
        if (!sha256(source).equals(recordedHash)) {
            return Outcome.STALE;
        }
        try {
            Class.forName(interfaceName + NATIVE_SUFFIX, false, itf.getClassLoader());
            return Outcome.PRESENT;
        } catch (ClassNotFoundException e) {
            // not there yet: define it
        }
        try {
            MethodHandles.privateLookupIn(itf, MethodHandles.lookup()).defineClass(bytes);
            return Outcome.INSTALLED;
        } catch (LinkageError e) {
            return Outcome.PRESENT; // another thread or loader defined it first
        } catch (IllegalAccessException | RuntimeException e) {
            LOG.debug("cannot define {}{}", interfaceName, NATIVE_SUFFIX, e);
            return Outcome.UNAVAILABLE;
        }
    }

    /** The Java source of the off-heap implementation that Chronicle Values generates for {@code itf}. */
    static String generateSource(Class<?> itf) throws ReflectiveOperationException {
        Class<?> modelClass = Class.forName("net.openhft.chronicle.values.ValueModel", true, itf.getClassLoader());
        Object model = modelClass.getMethod("acquire", Class.class).invoke(null, itf);
        Class<?> generators = Class.forName("net.openhft.chronicle.values.Generators", true, itf.getClassLoader());
        Method generate = generators.getDeclaredMethod("generateNativeClass", modelClass, String.class);
        generate.setAccessible(true);
        return (String) generate.invoke(null, model, itf.getSimpleName() + NATIVE_SUFFIX);
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = ChronicleValueClasses.class.getResourceAsStream(RESOURCE_FOLDER + name)) {
            return in == null ? null : in.readAllBytes();
        }
    }

    /**
     * The build step: generates and compiles the native class of every interface of
     * {@link #INTERFACES} with the class path of this JVM, and writes {@code NAME$$Native.bytes}
     * and {@code NAME$$Native.sha256} under {@code OUTPUT/dev/scone/store/chronicle-values/}.
     *
     * @param args {@code OUTPUT}: the class output folder of scone-store
     * @throws Exception when generating or compiling fails (the build fails with it)
     */
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: ChronicleValueClasses OUTPUT_CLASSES_FOLDER");
        }
        Path out = Path.of(args[0]).resolve(ChronicleValueClasses.class.getPackageName().replace('.', '/'))
                .resolve(RESOURCE_FOLDER);
        Files.createDirectories(out);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) {
            throw new IllegalStateException("no Java compiler in this runtime: build with a JDK");
        }
        for (String name : INTERFACES) {
            Class<?> itf = Class.forName(name);
            String source = generateSource(itf);
            Path work = Files.createTempDirectory("scone-chronicle-values");
            try {
                String simple = itf.getSimpleName() + NATIVE_SUFFIX;
                Path src = work.resolve("src").resolve(simple + ".java");
                Path classes = work.resolve("classes");
                Files.createDirectories(src.getParent());
                Files.createDirectories(classes);
                Files.writeString(src, source);
                int rc = javac.run(null, null, null, "-nowarn", "-proc:none", "--release", "17", "-classpath",
                        System.getProperty("java.class.path"), "-d", classes.toString(), src.toString());
                if (rc != 0) {
                    throw new IllegalStateException("javac failed (" + rc + ") on the generated " + simple);
                }
                List<Path> produced = new ArrayList<>();
                try (Stream<Path> files = Files.walk(classes)) {
                    files.filter(Files::isRegularFile).forEach(produced::add);
                }
                Path main = classes.resolve(itf.getPackageName().replace('.', '/')).resolve(simple + ".class");
                if (produced.size() != 1 || !produced.get(0).equals(main)) {
                    throw new IllegalStateException("expected javac to write " + main + " alone, it wrote " + produced);
                }
                Files.write(out.resolve(name + NATIVE_SUFFIX + ".bytes"), Files.readAllBytes(main));
                Files.writeString(out.resolve(name + NATIVE_SUFFIX + ".sha256"), sha256(source) + "\n");
                System.out.println("prebuilt " + name + NATIVE_SUFFIX + " (" + Files.size(main) + " bytes)");
            } finally {
                try (Stream<Path> files = Files.walk(work)) {
                    files.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }
}
