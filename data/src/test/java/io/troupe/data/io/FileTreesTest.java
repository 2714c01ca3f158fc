package io.troupe.data.io;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileTreesTest {

    @TempDir
    Path tmp;

    @Test
    void deletesATreeAndLeavesItsSiblings() throws Exception {
        Path tree = Files.createDirectories(tmp.resolve("run/checkpoints/deep"));
        Files.writeString(tree.resolve("ckpt-1.bin"), "x");
        Files.writeString(tmp.resolve("run/checkpoints/ckpt-2.bin"), "y");
        Path sibling = Files.writeString(tmp.resolve("run/metrics.jsonl"), "{}");
        FileTrees.deleteRecursively(tmp.resolve("run/checkpoints"));
        assertFalse(Files.exists(tmp.resolve("run/checkpoints")));
        assertTrue(Files.exists(sibling));
    }

    @Test
    void aMissingPathIsNothingToDelete() throws Exception {
        FileTrees.deleteRecursively(tmp.resolve("absent"));
        assertFalse(Files.exists(tmp.resolve("absent")));
    }

    @Test
    void aLinkIsDeletedButNotFollowed() throws Exception {
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Path kept = Files.writeString(outside.resolve("keep.txt"), "k");
        Path tree = Files.createDirectories(tmp.resolve("tree"));
        Files.createSymbolicLink(tree.resolve("inner-link"), outside);
        Path startLink = Files.createSymbolicLink(tmp.resolve("start-link"), outside);

        FileTrees.deleteRecursively(startLink);
        FileTrees.deleteRecursively(tree);

        assertFalse(Files.exists(startLink, LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.exists(tree, LinkOption.NOFOLLOW_LINKS));
        assertTrue(Files.exists(kept));
    }
}
