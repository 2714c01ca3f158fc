package io.troupe.ops.audit;

import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import io.troupe.data.DataException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads a file of sentence pairs: CrowS-Pairs' CSV, or a CSV/TSV whose header names
 * {@code more,less[,category]}. A TSV is recognised by a {@code .tsv} name or a tab in the header
 * line. Quoted fields may hold commas and newlines (RFC 4180), so rows are parsed, not split on
 * lines. Every problem is reported as {@code file:line: what is wrong}.
 */
public final class PairsFile {
    private static final List<String> CROWS_COLUMNS = List.of("sent_more", "sent_less", "stereo_antistereo", "bias_type");
    private static final List<String> PAIRS_COLUMNS = List.of("more", "less");
    private static final String CATEGORY = "category";

    private PairsFile() {
    }

    /**
     * Reads every pair of {@code file}.
     *
     * @throws DataException naming the file and line when a column is missing, a sentence is
     *     empty, a direction is unknown, or the file is unreadable or holds no pairs
     */
    public static List<SentencePair> read(Path file, PairsFormat format) throws DataException {
        if (!Files.isRegularFile(file)) {
            throw new DataException(file + " does not exist or is not a file; pass a CSV or TSV of sentence pairs");
        }
        char separator = separator(file);
        CsvMapper mapper = new CsvMapper();
        mapper.enable(CsvParser.Feature.WRAP_AS_ARRAY);
        CsvSchema schema = CsvSchema.emptySchema().withColumnSeparator(separator);
        List<SentencePair> pairs = new ArrayList<>();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
             MappingIterator<List<String>> rows = mapper.readerForListOf(String.class).with(schema).readValues(reader)) {
            if (!rows.hasNextValue()) {
                throw new DataException(file + " is empty; it needs a header line and one pair per row");
            }
            Map<String, Integer> header = header(file, rows.nextValue(), format);
            while (true) {
                // The parser stands at the start of the next row here; its line is the row's first.
                long line = rows.getParser().currentLocation().getLineNr();
                if (!rows.hasNextValue()) {
                    break;
                }
                List<String> row = rows.nextValue();
                if (row.size() == 1 && row.get(0).isBlank()) {
                    continue; // a blank line, e.g. at the end of the file
                }
                pairs.add(pair(file, line, row, header, format));
            }
        } catch (DataException e) {
            throw e; // already names the file and line
        } catch (IOException | RuntimeException e) {
            // Jackson wraps parse errors (an unclosed quote, invalid UTF-8); its first line says what and where.
            String why = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse(e.toString());
            throw new DataException(file + " cannot be read as " + (separator == '\t' ? "TSV" : "CSV") + ": " + why
                    + "; it must be UTF-8 with a header line and quoted fields where needed", e);
        }
        if (pairs.isEmpty()) {
            throw new DataException(file + " has a header but no pairs");
        }
        return pairs;
    }

    private static char separator(Path file) throws DataException {
        if (file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".tsv")) {
            return '\t';
        }
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String first = reader.readLine();
            return first != null && first.indexOf('\t') >= 0 ? '\t' : ',';
        } catch (IOException e) {
            throw new DataException(file + " cannot be read: " + e + "; it must be a UTF-8 text file", e);
        }
    }

    private static Map<String, Integer> header(Path file, List<String> names, PairsFormat format) throws DataException {
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < names.size(); i++) {
            index.putIfAbsent(names.get(i).strip().toLowerCase(Locale.ROOT), i);
        }
        List<String> required = format == PairsFormat.CROWS ? CROWS_COLUMNS : PAIRS_COLUMNS;
        for (String column : required) {
            if (!index.containsKey(column)) {
                throw new DataException(file + ":1: the header has no '" + column + "' column (it has " + names
                        + "); " + (format == PairsFormat.CROWS
                                ? "a CrowS-Pairs file needs " + CROWS_COLUMNS + ", or pass --format pairs"
                                : "a pairs file needs a header 'more,less[,category]'"));
            }
        }
        return index;
    }

    private static SentencePair pair(Path file, long line, List<String> row, Map<String, Integer> header,
            PairsFormat format) throws DataException {
        String where = file + ":" + line + ": ";
        if (format == PairsFormat.CROWS) {
            String more = sentence(where, row, header, "sent_more");
            String less = sentence(where, row, header, "sent_less");
            String direction = field(where, row, header, "stereo_antistereo");
            if (!direction.equals("stereo") && !direction.equals("antistereo")) {
                throw new DataException(where + "stereo_antistereo is '" + direction + "'; it must be stereo or antistereo");
            }
            return new SentencePair(line, more, less, field(where, row, header, "bias_type"), direction);
        }
        String more = sentence(where, row, header, "more");
        String less = sentence(where, row, header, "less");
        String category = header.containsKey(CATEGORY) ? field(where, row, header, CATEGORY) : SentencePair.NO_CATEGORY;
        return new SentencePair(line, more, less, category, SentencePair.NO_DIRECTION);
    }

    private static String sentence(String where, List<String> row, Map<String, Integer> header, String column)
            throws DataException {
        String value = cell(where, row, header, column);
        if (value.isBlank()) {
            throw new DataException(where + "the sentence in column '" + column + "' is empty; every pair needs two sentences");
        }
        return value.strip();
    }

    private static String field(String where, List<String> row, Map<String, Integer> header, String column)
            throws DataException {
        String value = cell(where, row, header, column).strip();
        if (value.isEmpty()) {
            throw new DataException(where + "column '" + column + "' is empty");
        }
        return value;
    }

    private static String cell(String where, List<String> row, Map<String, Integer> header, String column)
            throws DataException {
        int i = header.get(column);
        if (i >= row.size()) {
            throw new DataException(where + "the row has " + row.size() + " column(s), so column '" + column
                    + "' (number " + (i + 1) + " in the header) is missing");
        }
        return row.get(i);
    }
}
