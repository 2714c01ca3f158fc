package io.troupe.ops.cli;

/**
 * The Main-Class of {@code coordinator.jar}: {@code java -jar coordinator.jar ARGS} is
 * {@code troupe coordinator ARGS}. The jar holds only a manifest whose Class-Path names the
 * {@code troupe.jar} beside it (see docs/ARCHITECTURE.md, "Packaging and deployment").
 */
public final class CoordinatorMain {
    private CoordinatorMain() {}

    /** Runs {@code troupe coordinator} with these arguments and exits with its code. */
    public static void main(String[] args) {
        TroupeCli.main(SubcommandArgs.prepend("coordinator", args));
    }
}
