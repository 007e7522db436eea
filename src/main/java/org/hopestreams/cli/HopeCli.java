package org.hopestreams.cli;

public final class HopeCli {
    public static void main(String[] args) {
    }
}
