package io.troupe.data.ingest;

import io.troupe.data.DataException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Turns {@code --input} paths into the list of files to read: a file is taken as given, a
 * directory is walked recursively for {@code .txt}, {@code .md}, {@code .jsonl} and
 * {@code .ndjson} files, each optionally {@code .gz}. The order is sorted by path, so a run over
 * the same files always reads them in the same order.
 *
 * @param files the files to read, in reading order
 * @param unsupported files under a directory that were left out for their extension
 * @param documentation files under a directory left out as a README, licence or similar
 *     ({@link InputSelection}), as paths relative to their input
 * @param excluded files under a directory left out by an {@code --exclude} glob, likewise
 */
public record InputFiles(List<InputFile> files, int unsupported, List<String> documentation, List<String> excluded) {

    /** Copies the lists. */
    public InputFiles {
        files = List.copyOf(files);
        documentation = List.copyOf(documentation);
        excluded = List.copyOf(excluded);
    }

    /** Total size on disk of the files. */
    public long totalBytes() {
        return files.stream().mapToLong(InputFile::size).sum();
    }

    /**
     * Expands the input paths, leaving out documentation files ({@link InputSelection#DEFAULT}).
     *
     * @throws DataException if a path does not exist, or no readable file is found
     */
    public static InputFiles expand(List<Path> inputs) throws DataException {
        return expand(inputs, InputSelection.DEFAULT);
    }

    /**
     * Expands the input paths; files under a directory that {@code selection} leaves out are
     * counted, not read.
     *
     * @throws DataException if a path does not exist, an exclude glob is malformed, or no
     *     readable file is found
     */
    public static InputFiles expand(List<Path> inputs, InputSelection selection) throws DataException {
        List<java.nio.file.PathMatcher> matchers = selection.matchers();
        List<String> documentation = new ArrayList<>();
        List<String> excluded = new ArrayList<>();
        if (inputs.isEmpty()) {
            throw new DataException("no input given; pass --input with a file or directory of .txt,"
                    + " .md or .jsonl files");
        }
        List<InputFile> files = new ArrayList<>();
        Set<Path> seen = new HashSet<>();
        int unsupported = 0;
        for (Path input : inputs) {
            if (!Files.exists(input)) {
                throw new DataException("input " + input + " does not exist; pass a file or a directory"
                        + " of .txt, .md or .jsonl files");
            }
            if (Files.isDirectory(input)) {
                for (Path file : walk(input)) {
                    if (!seen.add(realPath(file))) {
                        continue; // listed twice, e.g. a directory and its parent
                    }
                    InputFile.Format format = formatOf(file);
                    String id = relativeId(input, file);
                    InputSelection.Skip skip = selection.skip(id, matchers);
                    if (format == null) {
                        unsupported++;
                    } else if (skip == InputSelection.Skip.EXCLUDED) {
                        excluded.add(id);
                    } else if (skip == InputSelection.Skip.DOCUMENTATION) {
                        documentation.add(id);
                    } else {
                        files.add(describe(file, id, format));
                    }
                }
            } else if (seen.add(realPath(input))) {
                InputFile.Format format = formatOf(input);
                // A file named explicitly is read even with an unknown extension: the user chose it.
                files.add(describe(input, input.getFileName().toString(),
                        format == null ? InputFile.Format.TEXT : format));
            }
        }
        if (files.isEmpty()) {
            throw new DataException("no .txt, .md, .jsonl or .ndjson files (optionally .gz) found under "
                    + inputs + (unsupported > 0 ? " (" + unsupported + " other files ignored)" : "")
                    + (documentation.isEmpty() ? "" : " (" + documentation.size()
                            + " README/LICENSE files skipped; pass --include-docs to read them)")
                    + (excluded.isEmpty() ? "" : " (" + excluded.size() + " files matched --exclude)"));
        }
        return new InputFiles(files, unsupported, documentation, excluded);
    }

    /** The format a file name implies, or null if it is not one prepare reads. */
    static InputFile.Format formatOf(Path file) {
        String name = stripGz(file.getFileName().toString().toLowerCase(Locale.ROOT));
        if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) {
            return InputFile.Format.JSONL;
        }
        if (name.endsWith(".txt") || name.endsWith(".md") || name.endsWith(".markdown")) {
            return InputFile.Format.TEXT;
        }
        return null;
    }

    private static String stripGz(String name) {
        return name.endsWith(".gz") ? name.substring(0, name.length() - 3) : name;
    }

    private static InputFile describe(Path file, String id, InputFile.Format format) throws DataException {
        boolean gzip = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gz");
        try {
            return new InputFile(file, id, format, gzip, Files.size(file));
        } catch (IOException e) {
            throw new DataException("cannot read input " + file + ": " + e.getMessage()
                    + "; check the file's permissions", e);
        }
    }

    private static List<Path> walk(Path dir) throws DataException {
        try (Stream<Path> paths = Files.walk(dir)) {
            return paths.filter(Files::isRegularFile)
                    // Hidden files (.DS_Store, editor swap files, our own temporaries) are not corpus.
                    .filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted(Comparator.comparing(p -> relativeId(dir, p)))
                    .toList();
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new DataException("cannot list input directory " + dir + ": " + e.getMessage()
                    + "; check its permissions", e);
        }
    }

    private static String relativeId(Path root, Path file) {
        Path relative = root.relativize(file);
        List<String> parts = new ArrayList<>();
        relative.forEach(part -> parts.add(part.toString()));
        return String.join("/", parts);
    }

    private static Path realPath(Path file) {
        try {
            return file.toRealPath();
        } catch (IOException e) {
            return file.toAbsolutePath().normalize();
        }
    }
}
