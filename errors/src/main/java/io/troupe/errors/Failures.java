package io.troupe.errors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.UndeclaredThrowableException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** What any {@link Throwable} means to the person running Troupe: its kind and a message worth showing. */
public final class Failures {

    private Failures() {}

    /**
     * The kind of any failure: a {@link TroupeException}'s own, found through the wrappers of
     * {@link #unwrap}; {@link TroupeException.Kind#IO} for the JDK's I/O exceptions (a full disk
     * is not a bug); {@link TroupeException.Kind#INTERNAL} for everything else.
     */
    public static TroupeException.Kind kindOf(Throwable failure) {
        Throwable unwrapped = unwrap(failure);
        if (unwrapped instanceof TroupeException troupe) {
            return troupe.kind();
        }
        if (unwrapped instanceof IOException || unwrapped instanceof UncheckedIOException) {
            return TroupeException.Kind.IO;
        }
        return TroupeException.Kind.INTERNAL;
    }

    /**
     * The failure inside the wrappers that only carry another exception across a thread or a
     * reflective call ({@link CompletionException}, {@link ExecutionException},
     * {@link InvocationTargetException}, {@link UndeclaredThrowableException}).
     */
    public static Throwable unwrap(Throwable failure) {
        Throwable current = failure;
        while (isCarrier(current) && current.getCause() != null && current.getCause() != current) {
            current = current.getCause();
        }
        return current;
    }

    /**
     * One line that says why {@code failure} happened: the message of the outermost exception
     * that has its own (skipping carriers, and wrappers that only repeat their cause),
     * followed by the innermost cause's message in parentheses when that adds something, e.g.
     * {@code "lost the connection to rank 2 (Connection reset by peer)"}. An exception without
     * any message is named by its class.
     */
    public static String rootMessage(Throwable failure) {
        if (failure == null) {
            return "no reason given";
        }
        Throwable top = unwrap(failure);
        while (top.getCause() != null && top.getCause() != top
                && (isBlank(top.getMessage()) || repeatsItsCause(top) || isCarrier(top))) {
            top = top.getCause();
        }
        Throwable root = top;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String outer = isBlank(top.getMessage()) ? null : top.getMessage();
        String inner = isBlank(root.getMessage()) ? null : root.getMessage();
        if (outer == null) {
            return inner != null ? inner : root.getClass().getSimpleName();
        }
        if (root == top || inner == null || outer.contains(inner)) {
            return outer;
        }
        return outer + " (" + inner + ")";
    }

    /** A message that is its cause's own, or the cause's toString() that {@code new X(cause)} makes. */
    private static boolean repeatsItsCause(Throwable t) {
        return t.getMessage().equals(t.getCause().getMessage()) || t.getMessage().equals(t.getCause().toString());
    }

    private static boolean isCarrier(Throwable t) {
        return t instanceof CompletionException || t instanceof ExecutionException
                || t instanceof InvocationTargetException || t instanceof UndeclaredThrowableException;
    }

    private static boolean isBlank(String message) {
        return message == null || message.isBlank();
    }
}
