package org.hopestreams.stream;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.hopestreams.avro.LearningEvent;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The LearningEvent's ticks field is optional: readers and writers of the schema before it still work both ways. */
class LearningEventSchemaTest {
    @Test
    void ticksIsFullyCompatibleWithTheSchemaBeforeIt() {
        Schema now = LearningEvent.getClassSchema();
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field f : now.getFields()) {
            if (!f.name().equals("ticks")) {
                fields.add(new Schema.Field(f, f.schema()));
            }
        }
        Schema before = Schema.createRecord(now.getName(), now.getDoc(), now.getNamespace(), false, fields);
        assertEquals(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE,
                SchemaCompatibility.checkReaderWriterCompatibility(now, before).getType(), "new reader, old writer");
        assertEquals(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE,
                SchemaCompatibility.checkReaderWriterCompatibility(before, now).getType(), "old reader, new writer");
        assertEquals(0, LearningEvent.newBuilder().getTicks(), "default 0");
    }
}
