package io.troupe.errors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.troupe.errors.TroupeException.Kind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class FailuresTest {

    private static final class Failure extends TroupeException {
        Failure(Kind kind, String message, Throwable cause) {
            super(kind, message, cause);
        }
    }

    @Test
    void theKindIsFoundThroughTheWrappersOfFuturesButNotThroughOtherExceptions() {
        Failure usage = new Failure(Kind.USAGE, "--wire must be fp32 or bf16", null);
        assertEquals(Kind.USAGE, Failures.kindOf(usage));
        assertEquals(Kind.USAGE, Failures.kindOf(new CompletionException(new ExecutionException(usage))));
        assertSame(usage, Failures.unwrap(new CompletionException(usage)));
        // A bug that wraps a Troupe failure is still a bug.
        assertEquals(Kind.INTERNAL, Failures.kindOf(new IllegalStateException("broken invariant", usage)));
    }

    @Test
    void theJdksIoFailuresAreIoAndEverythingElseIsInternal() {
        assertEquals(Kind.IO, Failures.kindOf(new NoSuchFileException("/data/x")));
        assertEquals(Kind.IO, Failures.kindOf(new UncheckedIOException(new IOException("disk full"))));
        assertEquals(Kind.INTERNAL, Failures.kindOf(new NullPointerException()));
    }

    @Test
    void rootMessageSkipsRepeatsAndAddsTheRootCause() {
        IOException reset = new IOException("Connection reset by peer");
        Failure peer = new Failure(Kind.CLUSTER, "lost the connection to rank 2", reset);
        assertEquals("lost the connection to rank 2 (Connection reset by peer)", Failures.rootMessage(peer));
        // A carrier that repeats its cause's message, inside a CompletionException.
        Failure carrier = new Failure(Kind.CLUSTER, peer.getMessage(), peer);
        assertEquals("lost the connection to rank 2 (Connection reset by peer)",
                Failures.rootMessage(new CompletionException(carrier)));
        assertEquals("Connection reset by peer", Failures.rootMessage(new RuntimeException(reset)));
        assertEquals("NullPointerException", Failures.rootMessage(new NullPointerException()));
        assertEquals("no reason given", Failures.rootMessage(null));
    }
}
