package io.troupe.ops.cli;

/**
 * The Main-Class of {@code worker.jar}: {@code java -jar worker.jar ARGS} is
 * {@code troupe worker ARGS}. The jar holds only a manifest whose Class-Path names the
 * {@code troupe.jar} beside it (see docs/ARCHITECTURE.md, "Packaging and deployment").
 */
public final class WorkerMain {
    private WorkerMain() {}

    /** Runs {@code troupe worker} with these arguments and exits with its code. */
    public static void main(String[] args) {
        TroupeCli.main(SubcommandArgs.prepend("worker", args));
    }
}
