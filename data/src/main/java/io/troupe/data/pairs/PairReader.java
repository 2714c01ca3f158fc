package io.troupe.data.pairs;

import io.troupe.data.DataException;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.io.InputStreamReader;

/**
 * Reads TAB-separated sentence pairs: one pair a line, the source and target in the chosen
 * columns (1-based; more columns, such as an attribution column, are allowed). Fields are plain
 * text, never quoted. A line without enough columns or with an empty side is skipped and
 * counted; past {@code maxBadFraction} of the lines the read is refused, naming the first bad
 * line, because that many usually means a wrong column or a file that is not TAB-separated.
 */
public final class PairReader {

    /** What was read: the pairs, and the lines skipped. */
    public record Result(List<SentencePair> pairs, long lines, long badLines, long spacesNormalized) {
    }

    private final int sourceColumn;
    private final int targetColumn;
    private final double maxBadFraction;
    private final boolean normalizeSpaces;

    /**
     * @param sourceColumn 1-based column of the source side
     * @param targetColumn 1-based column of the target side, not the source's
     * @param maxBadFraction the share of bad lines tolerated, in [0, 1]
     * @param normalizeSpaces map no-break, narrow no-break and thin spaces to ' ' and drop
     *     zero-width spaces and soft hyphens (French typography; see the data README)
     */
    public PairReader(int sourceColumn, int targetColumn, double maxBadFraction, boolean normalizeSpaces)
            throws DataException {
        if (sourceColumn < 1 || targetColumn < 1 || sourceColumn == targetColumn) {
            throw DataException.config("source column " + sourceColumn + " and target column " + targetColumn
                    + " must be two different columns counted from 1, e.g. --source-column 1 --target-column 2");
        }
        this.sourceColumn = sourceColumn;
        this.targetColumn = targetColumn;
        this.maxBadFraction = maxBadFraction;
        this.normalizeSpaces = normalizeSpaces;
    }

    /**
     * Reads every file, in order.
     *
     * @throws DataException if a file is missing, not UTF-8, or has too many bad lines; the
     *     message names the file and line
     */
    public Result read(List<Path> files) throws DataException {
        List<SentencePair> pairs = new ArrayList<>();
        long lines = 0;
        long bad = 0;
        long normalized = 0;
        String firstBad = null;
        int needed = Math.max(sourceColumn, targetColumn);
        for (Path file : files) {
            if (!Files.isRegularFile(file)) {
                throw new DataException("pairs file " + file + " does not exist; pass TAB-separated files to --pairs");
            }
            try (BufferedReader in = new BufferedReader(new InputStreamReader(Files.newInputStream(file),
                    StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                            .onUnmappableCharacter(CodingErrorAction.REPORT)))) {
                long lineNo = 0;
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    lineNo++;
                    lines++;
                    String[] cols = line.split("\t", -1);
                    String problem = null;
                    if (cols.length < 2) {
                        problem = "has no TAB";
                    } else if (cols.length < needed) {
                        problem = "has " + cols.length + " columns, not the " + needed + " needed";
                    } else if (cols[sourceColumn - 1].isBlank() || cols[targetColumn - 1].isBlank()) {
                        problem = "has an empty " + (cols[sourceColumn - 1].isBlank() ? "source" : "target") + " side";
                    }
                    if (problem != null) {
                        bad++;
                        if (firstBad == null) {
                            firstBad = file + ":" + lineNo + " " + problem;
                        }
                        continue;
                    }
                    String source = cols[sourceColumn - 1];
                    String target = cols[targetColumn - 1];
                    if (normalizeSpaces) {
                        String s = normalize(source);
                        String t = normalize(target);
                        normalized += (s.equals(source) ? 0 : 1) + (t.equals(target) ? 0 : 1);
                        source = s;
                        target = t;
                    }
                    pairs.add(new SentencePair(source, target));
                }
            } catch (CharacterCodingException e) {
                throw new DataException("pairs file " + file + " is not valid UTF-8 (" + e.getMessage()
                        + "); convert it to UTF-8", e);
            } catch (IOException e) {
                throw new DataException("cannot read pairs file " + file + ": " + e.getMessage(), e);
            }
        }
        if (lines > 0 && bad > maxBadFraction * lines) {
            throw new DataException(bad + " of " + lines + " lines are not usable pairs (first: " + firstBad
                    + "); check --source-column/--target-column and that the file is TAB-separated, or raise"
                    + " max_bad_pair_fraction");
        }
        if (pairs.isEmpty()) {
            throw new DataException("no sentence pair could be read from " + files + "; pass TAB-separated files,"
                    + " one pair a line");
        }
        return new Result(pairs, lines, bad, normalized);
    }

    /** French typographic spaces to plain spaces; invisible zero-width space and soft hyphen removed. */
    static String normalize(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\u00a0', '\u202f', '\u2009' -> out.append(' ');
                case '\u200b', '\u00ad' -> { }
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
