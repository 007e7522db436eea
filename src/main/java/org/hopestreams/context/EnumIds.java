package org.hopestreams.context;

import java.util.function.Function;

/** The lookup the context package's option enums share: the constant whose configuration id is {@code value}. */
final class EnumIds {
    private EnumIds() {
    }

    /**
     * The constant of {@code values} whose id is {@code value}; otherwise an error that names the option
     * ({@code what}), the value and what was expected ({@code expected}).
     */
    static <E extends Enum<E>> E parse(E[] values, Function<E, String> id, String value, String what, String expected) {
        for (E e : values) {
            if (id.apply(e).equals(value)) {
                return e;
            }
        }
        throw new IllegalArgumentException(what + " '" + value + "', expected " + expected);
    }
}
