package io.troupe.data.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a file so that readers see either the old content or the complete new content, even
 * if the process or the machine dies half way.
 *
 * <p>The recipe: write a temporary file in the target's own directory (a rename is only atomic
 * within one file system), {@code fsync} it, rename it over the target with
 * {@link StandardCopyOption#ATOMIC_MOVE}, then {@code fsync} the directory so that the rename
 * itself survives a power cut. A crash leaves at most a temporary file, named
 * {@code .<target>.<random>.tmp}; it never matches the target's name, and
 * {@link #isTempFileOf(Path, String)} lets the owner of a directory find and delete it.
 */
public final class AtomicFiles {

    /** Suffix of every temporary file this class creates. */
    public static final String TEMP_SUFFIX = ".tmp";

    /** Writes the body of a file into an open channel positioned at 0. */
    @FunctionalInterface
    public interface ChannelWriter {
        /** Writes the whole content; the caller forces and closes the channel. */
        void write(FileChannel channel) throws IOException;
    }

    private AtomicFiles() {
    }

    /**
     * Atomically replaces {@code target} with the bytes {@code body} writes.
     *
     * @throws IOException if writing, syncing or renaming fails; the temporary file is removed
     *     and an existing target is left untouched
     */
    public static void write(Path target, ChannelWriter body) throws IOException {
        write(target, body, new FileAttribute<?>[0]);
    }

    /**
     * Atomically replaces {@code target} with the bytes {@code body} writes, readable and
     * writable by the owner only ({@code rw-------}) from the moment the file exists: for keys
     * and passwords. On a file system without POSIX permissions the file gets the default ones.
     *
     * @throws IOException as {@link #write(Path, ChannelWriter)}
     */
    public static void writeOwnerOnly(Path target, ChannelWriter body) throws IOException {
        boolean posix = Files.getFileStore(existingAncestor(target.toAbsolutePath()))
                .supportsFileAttributeView(PosixFileAttributeView.class);
        write(target, body, posix
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rw-------"))}
                : new FileAttribute<?>[0]);
    }

    private static Path existingAncestor(Path path) {
        Path existing = path;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        return existing == null ? path.getRoot() : existing;
    }

    private static void write(Path target, ChannelWriter body, FileAttribute<?>[] attributes)
            throws IOException {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        Files.createDirectories(dir);
        Path temp = dir.resolve(tempName(absolute.getFileName().toString()));
        boolean moved = false;
        try {
            try (FileChannel channel = FileChannel.open(temp, Set.of(
                    StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), attributes)) {
                body.write(channel);
                channel.force(true);
            }
            try {
                Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot atomically rename " + temp + " to " + absolute
                        + " (the file system does not support it); write to a local disk", e);
            }
            moved = true;
            fsyncDirectory(dir);
        } finally {
            if (!moved) {
                Files.deleteIfExists(temp);
            }
        }
    }

    /** Atomically replaces {@code target} with {@code text} encoded as UTF-8. */
    public static void writeString(Path target, String text) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        write(target, channel -> {
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        });
    }

    /**
     * Whether {@code file} is a temporary file left by a write to a target named
     * {@code targetPrefix...}; a crash mid-write leaves such files behind.
     */
    public static boolean isTempFileOf(Path file, String targetPrefix) {
        String name = file.getFileName().toString();
        return name.startsWith("." + targetPrefix) && name.endsWith(TEMP_SUFFIX);
    }

    /**
     * Flushes a directory's entries to disk, which makes a rename or a new file in it durable.
     * A no-op on Windows, where directories cannot be opened and NTFS journals renames itself.
     */
    public static void fsyncDirectory(Path dir) throws IOException {
        if (System.getProperty("os.name", "").startsWith("Windows")) {
            return;
        }
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    private static String tempName(String targetName) {
        byte[] random = new byte[6];
        ThreadLocalRandom.current().nextBytes(random);
        return "." + targetName + "." + HexFormat.of().formatHex(random) + TEMP_SUFFIX;
    }
}
