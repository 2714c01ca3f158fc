package io.troupe.data.labelled;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.DataException;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reads labelled examples from TSV and JSONL files (see {@link LabelFileFormat}).
 *
 * <p><b>Rows.</b> A TSV row is {@code text<TAB>label}; the label is what follows the <em>last</em>
 * TAB, so a text that holds a TAB keeps it. A JSONL row is an object with a string {@code text}
 * and a {@code label} that is a string or an integer (extra fields are ignored). A JSONL row with
 * {@code "train": false} is skipped, not a bad row: {@code troupe serve}'s feedback store writes it
 * on records that are no training examples (a rating only, or an id the server did not know, so
 * no text), and its file is read as it is. Text and label
 * are stripped of surrounding whitespace (the UCI imdb sentences end in spaces before the TAB);
 * a line that is blank is skipped and not a row. Files are UTF-8 (a leading BOM is ignored), and
 * lines end at LF or CR LF, so U+0085 (NEL) inside a UCI imdb sentence stays text.
 *
 * <p><b>Header.</b> The first non-blank line of a TSV file is a header, and skipped, when its
 * label column is one of the usual column names: {@value #HEADER_NAMES_TEXT} (any case), unless
 * a fixed label set contains that word as a label. The UCI sentiment files start with
 * {@code sentence<TAB>score}, for example. Detecting by the label column, not by "is it a valid
 * label", is needed because labels may be any string.
 *
 * <p><b>Bad rows</b> (no TAB, an empty text or label, a line that is not a JSON object with
 * those fields, a label outside a fixed label set) are never dropped silently: each is kept as a
 * {@link BadRow} naming {@code file:line} and the reason, and more than {@code maxBadRows} of
 * them is a {@link DataException} that names the first few.
 *
 * <p><b>Labels.</b> Without a fixed label set (training), the set is the labels found
 * ({@link LabelSet#fromObserved}) and data with fewer than two classes is refused. With one
 * (evaluating a model that stores its labels), rows are mapped by it and any class may be absent.
 *
 * @param maxBadRows how many bad rows are tolerated (and reported) before reading fails; {@code >= 0}
 * @param fixedLabels the label set rows must use, or {@code null} to take it from the data
 */
public record LabelledReader(int maxBadRows, LabelSet fixedLabels) {

    /** Column names that mark a TSV file's first line as a header. */
    public static final Set<String> HEADER_NAMES =
            Set.of("label", "labels", "class", "category", "score", "sentiment", "polarity", "target", "y");
    private static final String HEADER_NAMES_TEXT = "label, labels, class, category, score, sentiment, polarity, target, y";

    /** How many bad rows an error message names before "and N more". */
    static final int NAMED_IN_ERROR = 5;

    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** Checks the limit. */
    public LabelledReader {
        if (maxBadRows < 0) {
            throw new IllegalArgumentException("maxBadRows must be >= 0, got " + maxBadRows);
        }
    }

    /** A reader for training data: the label set comes from the data. */
    public static LabelledReader forTraining(int maxBadRows) {
        return new LabelledReader(maxBadRows, null);
    }

    /** A reader for evaluation data: rows must use {@code labels}; any other label is a bad row. */
    public static LabelledReader forEvaluation(LabelSet labels, int maxBadRows) {
        if (labels == null) {
            throw new IllegalArgumentException("an evaluation reader needs the model's label set");
        }
        return new LabelledReader(maxBadRows, labels);
    }

    /** Reads one file; see {@link #read(List)}. */
    public LabelledData read(Path file) throws DataException {
        return read(List.of(file));
    }

    /**
     * Reads {@code files} in order into one data set.
     *
     * @throws DataException if a file is missing, is a directory, or is not UTF-8; if more than
     *     {@code maxBadRows} rows are bad; if no row is usable; or (without a fixed label set) if
     *     the rows hold fewer than two classes. The message is one line naming the file (and for
     *     bad rows, the first few {@code file:line}s) and the fix.
     */
    public LabelledData read(List<Path> files) throws DataException {
        if (files.isEmpty()) {
            throw new IllegalArgumentException("no label files given");
        }
        List<RawRow> rows = new ArrayList<>();
        List<BadRow> bad = new ArrayList<>();
        for (Path file : files) {
            readFile(file, rows, bad);
        }
        LabelSet labels = fixedLabels;
        if (labels == null && !rows.isEmpty()) {
            labels = LabelSet.fromObserved(rows.stream().map(RawRow::label).toList());
        }
        List<LabelledExample> examples = new ArrayList<>(rows.size());
        for (RawRow row : rows) {
            if (labels.contains(row.label())) {
                examples.add(new LabelledExample(row.text(), labels.indexOf(row.label()).orElseThrow(), row.origin()));
            } else {
                bad.add(new BadRow(row.file(), row.line(), "unknown label '" + row.label() + "' (the model's labels are "
                        + labels.names() + ")"));
            }
        }
        bad.sort(Comparator.comparingInt((BadRow b) -> files.indexOf(b.file())).thenComparingLong(BadRow::line));
        if (bad.size() > maxBadRows) {
            throw tooManyBadRows(bad);
        }
        String where = files.size() == 1 ? files.get(0).toString() : files.size() + " files (" + files.get(0) + ", ...)";
        if (examples.isEmpty()) {
            throw new DataException(where + " holds no labelled examples; give rows of text<TAB>label (TSV) or"
                    + " {\"text\": ..., \"label\": ...} (JSONL)");
        }
        LabelledData data = new LabelledData(examples, labels, bad, files);
        if (fixedLabels == null && labels.size() < 2) {
            throw new DataException(where + " has a single class '" + labels.name(0) + "' (" + examples.size()
                    + " examples): classification needs examples of at least two labels; add the other classes");
        }
        return data;
    }

    private void readFile(Path file, List<RawRow> rows, List<BadRow> bad) throws DataException {
        if (Files.isDirectory(file)) {
            throw new DataException(file + " is a directory; name the label files (TSV text<TAB>label or JSONL) themselves");
        }
        if (!Files.isRegularFile(file)) {
            throw new DataException(file + " does not exist; give a TSV (text<TAB>label) or JSONL label file");
        }
        long lineNumber = 0;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            LabelFileFormat format = LabelFileFormat.of(file);
            CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder();
            boolean first = true;
            byte[] bytes;
            while ((bytes = nextLine(in)) != null) {
                lineNumber++;
                String line;
                try {
                    line = utf8.decode(ByteBuffer.wrap(bytes)).toString();
                } catch (CharacterCodingException e) {
                    throw new DataException(file + ":" + lineNumber + " is not valid UTF-8; save the file as UTF-8", e);
                }
                if (lineNumber == 1 && line.startsWith("\uFEFF")) {
                    line = line.substring(1);
                }
                if (line.isBlank()) {
                    continue;
                }
                boolean firstRow = first;
                first = false;
                if (format == LabelFileFormat.TSV) {
                    readTsvRow(file, lineNumber, line, firstRow, rows, bad);
                } else {
                    readJsonRow(file, lineNumber, line, rows, bad);
                }
            }
        } catch (IOException e) {
            throw new DataException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The bytes of the next line without its LF (and a CR before it), or null at the end. Lines
     * are split on bytes, before decoding, so a decoding error names its own line.
     */
    private static byte[] nextLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(128);
        int b;
        while ((b = in.read()) != -1 && b != '\n') {
            line.write(b);
        }
        if (b == -1 && line.size() == 0) {
            return null;
        }
        byte[] bytes = line.toByteArray();
        int length = bytes.length;
        if (length > 0 && bytes[length - 1] == '\r') {
            length--;
        }
        return length == bytes.length ? bytes : Arrays.copyOf(bytes, length);
    }

    private void readTsvRow(Path file, long line, String text, boolean firstRow, List<RawRow> rows, List<BadRow> bad) {
        int tab = text.lastIndexOf('\t');
        if (tab < 0) {
            bad.add(new BadRow(file, line, "no TAB between text and label"));
            return;
        }
        String body = text.substring(0, tab).strip();
        String label = text.substring(tab + 1).strip();
        if (firstRow && isHeader(label)) {
            return;
        }
        addRow(file, line, body, label, rows, bad);
    }

    private boolean isHeader(String label) {
        String lower = label.toLowerCase(Locale.ROOT);
        return HEADER_NAMES.contains(lower) && (fixedLabels == null || !fixedLabels.contains(label));
    }

    private static void readJsonRow(Path file, long line, String text, List<RawRow> rows, List<BadRow> bad) {
        JsonNode node;
        try {
            node = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            bad.add(new BadRow(file, line, "not valid JSON (" + e.getOriginalMessage() + ")"));
            return;
        }
        if (node == null || !node.isObject()) {
            bad.add(new BadRow(file, line, "not a JSON object with \"text\" and \"label\""));
            return;
        }
        JsonNode train = node.get("train");
        if (train != null && train.isBoolean() && !train.booleanValue()) {
            return; // a feedback record marked as no training example
        }
        JsonNode body = node.get("text");
        JsonNode label = node.get("label");
        if (body == null || !body.isTextual()) {
            bad.add(new BadRow(file, line, "no string \"text\" field"));
            return;
        }
        String labelText;
        if (label != null && label.isTextual()) {
            labelText = label.asText().strip();
        } else if (label != null && label.isIntegralNumber()) {
            labelText = label.bigIntegerValue().toString();
        } else {
            bad.add(new BadRow(file, line, "no \"label\" field that is a string or an integer"));
            return;
        }
        addRow(file, line, body.asText().strip(), labelText, rows, bad);
    }

    private static void addRow(Path file, long line, String body, String label, List<RawRow> rows, List<BadRow> bad) {
        if (body.isEmpty()) {
            bad.add(new BadRow(file, line, "empty text"));
        } else if (label.isEmpty()) {
            bad.add(new BadRow(file, line, "empty label"));
        } else {
            rows.add(new RawRow(file, line, body, label));
        }
    }

    private DataException tooManyBadRows(List<BadRow> bad) {
        String named = bad.stream().limit(NAMED_IN_ERROR).map(BadRow::toString).collect(Collectors.joining("; "));
        String more = bad.size() > NAMED_IN_ERROR ? "; and " + (bad.size() - NAMED_IN_ERROR) + " more" : "";
        return new DataException(bad.size() + " bad rows, more than the " + maxBadRows + " allowed (--max-bad-rows): "
                + named + more + "; fix or remove those rows, or raise --max-bad-rows");
    }

    /** A well-formed row before its label is mapped to a class. */
    private record RawRow(Path file, long line, String text, String label) {
        String origin() {
            return file + ":" + line;
        }
    }
}
