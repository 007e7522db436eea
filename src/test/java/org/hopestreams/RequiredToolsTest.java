package org.hopestreams;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A missing tool skips a test, unless the switch lists it: then the test fails. */
class RequiredToolsTest {
    private final String before = System.getProperty(RequiredTools.PROPERTY);

    @AfterEach
    void restore() {
        if (before == null) {
            System.clearProperty(RequiredTools.PROPERTY);
        } else {
            System.setProperty(RequiredTools.PROPERTY, before);
        }
    }

    @Test
    void aMissingToolSkipsUnlessItIsRequiredThenItFails() {
        System.setProperty(RequiredTools.PROPERTY, "kubectl, Chromium");
        assertEquals(Set.of("kubectl", "chromium"), RequiredTools.required());
        AssertionFailedError failed = assertThrows(AssertionFailedError.class,
                () -> RequiredTools.assumeInstalled(RequiredTools.CHROMIUM, false, "no browser here"));
        assertTrue(failed.getMessage().contains("no browser here") && failed.getMessage().contains("chromium"),
                failed.getMessage());
        TestAbortedException skipped = assertThrows(TestAbortedException.class,
                () -> RequiredTools.assumeInstalled(RequiredTools.DOCKER, false, "no Docker engine answers"));
        assertTrue(skipped.getMessage().contains("no Docker engine answers"), skipped.getMessage());
        RequiredTools.assumeInstalled(RequiredTools.CHROMIUM, true, "installed: nothing happens");

        System.setProperty(RequiredTools.PROPERTY, "all");
        assertThrows(AssertionFailedError.class, () -> RequiredTools.assumeInstalled(RequiredTools.DOCKER, false, "x"));
    }

    @Test
    void anUnknownToolNameIsAnErrorNotAQuietSkip() {
        assertThrows(IllegalArgumentException.class, () -> RequiredTools.parse("chromium,kubctl"));
        assertEquals(Set.of(), RequiredTools.parse(" "));
    }
}
