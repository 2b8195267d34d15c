package dev.scone.store;

import java.io.File;
import java.util.Arrays;
import net.openhft.chronicle.map.ChronicleMap;

/** Child-JVM main for {@link ChronicleSmokeTest}: create, close, reopen and read a persisted map. */
public final class ChronicleChild {

    private ChronicleChild() {}

    /**
     * @param args the map file
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        File file = new File(args[0]);
        byte[] value = new byte[32];
        for (int i = 0; i < value.length; i++) {
            value[i] = (byte) i;
        }
        try (ChronicleMap<Long, byte[]> map = open(file)) {
            for (long k = 0; k < 1000; k++) {
                value[0] = (byte) k;
                map.put(k, value);
            }
        }
        try (ChronicleMap<Long, byte[]> map = open(file)) {
            byte[] buf = new byte[32];
            int ok = 0;
            for (long k = 0; k < 1000; k++) {
                byte[] got = map.getUsing(k, buf);
                value[0] = (byte) k;
                if (got != null && Arrays.equals(got, value)) {
                    ok++;
                }
            }
            System.out.println("SIZE=" + map.size() + " OK=" + ok);
        }
    }

    private static ChronicleMap<Long, byte[]> open(File file) throws Exception {
        return ChronicleMap.of(Long.class, byte[].class)
                .name("smoke")
                .entries(1000)
                .constantValueSizeBySample(new byte[32])
                .createPersistedTo(file);
    }
}
