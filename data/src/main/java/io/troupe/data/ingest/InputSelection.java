package io.troupe.data.ingest;

import io.troupe.data.DataException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which files under an input directory are corpus. Data folders often carry a README, a licence
 * or a SOURCE_README.txt next to the text; with a .txt or .md name they would be read as
 * documents and trained on, so they are left out unless asked for, and {@code --exclude} globs
 * leave out more.
 *
 * <p>Both rules apply to files found by walking a directory. A file named on the command line is
 * read whatever its name: the user chose it.
 *
 * @param excludes globs ({@code java.nio} syntax) matched against the path relative to its
 *     input directory ({@code drafts/**}); a glob without a {@code /} also matches the file name
 *     at any depth ({@code *.md})
 * @param includeDocs read README*, LICENSE*, LICENCE*, COPYING* and SOURCE_README* files too
 */
public record InputSelection(List<String> excludes, boolean includeDocs) {

    /** Leaves out documentation files and nothing else. */
    public static final InputSelection DEFAULT = new InputSelection(List.of(), false);

    private static final List<String> DOC_PREFIXES = List.of("readme", "license", "licence", "copying",
            "source_readme");

    /** Why a file is left out. */
    public enum Skip {
        /** A README, licence or similar. */
        DOCUMENTATION,
        /** It matches an {@code --exclude} glob. */
        EXCLUDED
    }

    /** Copies the list. */
    public InputSelection {
        excludes = List.copyOf(excludes);
    }

    /**
     * The matchers of the exclude globs.
     *
     * @throws DataException if a glob is malformed
     */
    List<PathMatcher> matchers() throws DataException {
        List<PathMatcher> matchers = new ArrayList<>();
        for (String glob : excludes) {
            try {
                matchers.add(FileSystems.getDefault().getPathMatcher("glob:" + glob));
            } catch (IllegalArgumentException e) { // PatternSyntaxException among them
                throw new DataException("--exclude '" + glob + "' is not a valid glob (" + e.getMessage().lines()
                        .findFirst().orElse("") + "); write e.g. '*.md' or 'drafts/**'");
            }
        }
        return matchers;
    }

    /**
     * Why the file at {@code relativeId} (forward slashes, relative to its input directory) is
     * left out, or null if it is read.
     */
    Skip skip(String relativeId, List<PathMatcher> matchers) {
        Path relative = Path.of(relativeId);
        Path name = relative.getFileName();
        for (int i = 0; i < matchers.size(); i++) {
            boolean byName = !excludes.get(i).contains("/");
            if (matchers.get(i).matches(relative) || (byName && matchers.get(i).matches(name))) {
                return Skip.EXCLUDED;
            }
        }
        if (!includeDocs) {
            String lower = name.toString().toLowerCase(Locale.ROOT);
            for (String prefix : DOC_PREFIXES) {
                if (lower.startsWith(prefix)) {
                    return Skip.DOCUMENTATION;
                }
            }
        }
        return null;
    }
}
