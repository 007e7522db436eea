package org.hopestreams.log;

import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/** A logger of {@link Logging}: its level from the levels' setup, its records to where the setup says. */
final class HopeLogger extends LegacyAbstractLogger {
    private static final long serialVersionUID = 1L;
    private transient volatile int generation = -1;
    private transient volatile int level;

    HopeLogger(String name) {
        this.name = name;
    }

    private boolean enabled(Level l) {
        int g = Logging.generation();
        if (g != generation) {
            level = Logging.levelOf(name);
            generation = g;
        }
        return l.toInt() >= level;
    }

    @Override
    public boolean isTraceEnabled() {
        return enabled(Level.TRACE);
    }

    @Override
    public boolean isDebugEnabled() {
        return enabled(Level.DEBUG);
    }

    @Override
    public boolean isInfoEnabled() {
        return enabled(Level.INFO);
    }

    @Override
    public boolean isWarnEnabled() {
        return enabled(Level.WARN);
    }

    @Override
    public boolean isErrorEnabled() {
        return enabled(Level.ERROR);
    }

    @Override
    protected String getFullyQualifiedCallerName() {
        return null;
    }

    @Override
    protected void handleNormalizedLoggingCall(Level l, Marker marker, String pattern, Object[] args, Throwable t) {
        // the public methods check the level before they get here; the fluent API may not
        if (enabled(l)) {
            String message = MessageFormatter.basicArrayFormat(pattern, args);
            Level effective = Logging.effectiveLevel(name, l, message);
            if (effective == l || enabled(effective)) {
                Logging.write(name, effective, message, t);
            }
        }
    }
}
