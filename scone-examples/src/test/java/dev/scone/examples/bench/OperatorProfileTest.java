package dev.scone.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OperatorProfileTest {

    @Test
    void selfTimeIsDurationLessNestedOperatorsOnTheSameThread(@TempDir Path dir) throws IOException {
        // Thread 1: linear [0, 100) holds matmul [10, 70) which holds mm [20, 60); then add [100, 110).
        // Thread 2: mm [0, 50), overlapping thread 1 in time but not nested in it.
        Path trace = Files.writeString(dir.resolve("t.json"), "{\"traceEvents\": ["
                + "{\"name\": \"aten::linear\", \"ph\": \"X\", \"tid\": 1, \"ts\": 0, \"dur\": 100},"
                + "{\"name\": \"aten::matmul\", \"ph\": \"X\", \"tid\": 1, \"ts\": 10, \"dur\": 60},"
                + "{\"name\": \"aten::mm\", \"ph\": \"X\", \"tid\": 1, \"ts\": 20, \"dur\": 40},"
                + "{\"name\": \"aten::add\", \"ph\": \"X\", \"tid\": 1, \"ts\": 100, \"dur\": 10},"
                + "{\"name\": \"aten::mm\", \"ph\": \"X\", \"tid\": 2, \"ts\": 0, \"dur\": 50},"
                + "{\"name\": \"a marker without a duration\", \"ph\": \"i\", \"tid\": 1, \"ts\": 5}]}");
        OperatorProfile p = OperatorProfile.read(trace);
        Map<String, OperatorProfile.Op> byName = p.ops().stream()
                .collect(Collectors.toMap(OperatorProfile.Op::name, o -> o));
        assertEquals(4, byName.size());
        assertEquals(0.040, byName.get("aten::linear").selfMs(), 1e-9);
        assertEquals(0.100, byName.get("aten::linear").totalMs(), 1e-9);
        assertEquals(0.020, byName.get("aten::matmul").selfMs(), 1e-9);
        assertEquals(0.090, byName.get("aten::mm").selfMs(), 1e-9, "40 + 50 on two threads");
        assertEquals(2, byName.get("aten::mm").calls());
        assertEquals(0.010, byName.get("aten::add").selfMs(), 1e-9);
        assertEquals("aten::mm", p.ops().get(0).name(), "most self time first");

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        p.print("tiny", 1, 0.2, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        // Top-level time: 100 + 10 on thread 1, 50 on thread 2 = 0.16 ms of a 0.2 ms wall.
        assertTrue(out.contains("0.2 ms per step by the wall clock, 0.2 ms in operators (80%)"), out);
        assertTrue(out.contains("| aten::mm | 2 | 0.09 | 45.0% |"), out);

        Path broken = Files.writeString(dir.resolve("b.json"), "{not json");
        IOException e = assertThrows(IOException.class, () -> OperatorProfile.read(broken));
        assertTrue(e.getMessage().contains("b.json: not a JSON trace"), e.getMessage());
        Path empty = Files.writeString(dir.resolve("e.json"), "{\"other\": 1}");
        e = assertThrows(IOException.class, () -> OperatorProfile.read(empty));
        assertTrue(e.getMessage().contains("e.json: no trace events"), e.getMessage());
    }
}
