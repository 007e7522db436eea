package org.hopestreams.stream;

import org.hopestreams.learn.LearnerConfig;
import org.hopestreams.store.StateSnapshot;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A stored model keeps its KAN levels; the configured ticks apply to it. */
class StartSettingsTest {
    private static StateSnapshot stored(String kan) {
        StateSnapshot.Builder b = StateSnapshot.builder().meta("model.preset", "tiny");
        if (kan != null) {
            b.meta("model.kan", kan);
        }
        return b.build();
    }

    @Test
    void configuredKanLevelsOtherThanTheStoredModelsAreAnError() {
        HopeStreamsConfig low = new HopeStreamsConfig(Map.of(HopeStreamsConfig.MODEL_KAN, "low"));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> StartSettings.checkShape(stored(null), low, "the stores"));
        assertTrue(e.getMessage().contains("hope.model.kan is 'low' but the model in the stores is 'none'"), e.getMessage());
        assertDoesNotThrow(() -> StartSettings.checkShape(stored("low"), low, "the stores"));
        assertDoesNotThrow(() -> StartSettings.checkShape(stored("low"), new HopeStreamsConfig(Map.of()), "the stores"));
    }

    @Test
    void configuredTicksApplyToAStoredModel() {
        HopeStreamsConfig c = new HopeStreamsConfig(Map.of(HopeStreamsConfig.TICKS_MAX, "2",
                HopeStreamsConfig.TICKS_THRESHOLD, "3.5", HopeStreamsConfig.TICKS_MIN_GAIN, "0.002"));
        LearnerConfig applied = StartSettings.apply(LearnerConfig.defaults(), c);
        assertEquals(2, applied.ticksMax());
        assertEquals(3.5, applied.ticksThreshold());
        assertEquals(0.002, applied.ticksMinGain());
        assertEquals(0, StartSettings.apply(applied, new HopeStreamsConfig(Map.of())).ticksMax(), "off unless configured");
    }
}
