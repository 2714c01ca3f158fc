package io.troupe.data.labelled;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import io.troupe.data.io.AtomicFiles;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The ordered classes of a classification task: index {@code i} of a classifier's output is
 * {@link #name(int) name(i)}.
 *
 * <p>Labels are strings; an integer label in a file ({@code 0}, {@code 1} in TSV, or a JSON
 * number in JSONL) is the string of its decimal digits. A set made from the labels found in data
 * ({@link #fromObserved}) is ordered numerically when every label is an integer (so
 * {@code 0, 1, 2, ..., 10}) and by {@link String#compareTo} otherwise: the order never depends
 * on which row came first. The set travels with a model as {@code labels.json}
 * ({@code {"labels": ["0", "1"]}}), written atomically, so evaluation and prediction map indices
 * back to the names training used.
 */
public final class LabelSet {

    /** The file name a model directory keeps its label set under. */
    public static final String FILE_NAME = "labels.json";

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final List<String> names;
    private final Map<String, Integer> indices;

    private LabelSet(List<String> names) {
        this.names = List.copyOf(names);
        this.indices = new HashMap<>();
        for (int i = 0; i < this.names.size(); i++) {
            String name = this.names.get(i);
            if (name.isEmpty()) {
                throw new IllegalArgumentException("a label cannot be empty");
            }
            if (indices.put(name, i) != null) {
                throw new IllegalArgumentException("label '" + name + "' is listed twice");
            }
        }
        if (this.names.isEmpty()) {
            throw new IllegalArgumentException("a label set needs at least one label");
        }
    }

    /**
     * The labels in the order given, which becomes the order of the classifier's outputs.
     *
     * @throws IllegalArgumentException if a label is empty or repeated, or there is none
     */
    public static LabelSet of(List<String> names) {
        return new LabelSet(names);
    }

    /** The labels in the order given; see {@link #of(List)}. */
    public static LabelSet of(String... names) {
        return new LabelSet(List.of(names));
    }

    /**
     * The distinct labels among {@code observed}, ordered numerically if all are integers and
     * lexicographically otherwise (see the class comment).
     */
    public static LabelSet fromObserved(Collection<String> observed) {
        List<String> distinct = new ArrayList<>(new LinkedHashSet<>(observed));
        boolean allIntegers = distinct.stream().allMatch(LabelSet::isInteger);
        distinct.sort(allIntegers
                ? Comparator.comparing((String s) -> new BigInteger(s)).thenComparing(Comparator.naturalOrder())
                : Comparator.naturalOrder());
        return new LabelSet(distinct);
    }

    /** Number of classes. */
    public int size() {
        return names.size();
    }

    /** The label of class {@code index}. */
    public String name(int index) {
        return names.get(index);
    }

    /** All labels, in class order. */
    public List<String> names() {
        return names;
    }

    /** The class index of {@code label}, or empty if it is not in the set. */
    public Optional<Integer> indexOf(String label) {
        return Optional.ofNullable(indices.get(label));
    }

    /** Whether {@code label} is one of the classes. */
    public boolean contains(String label) {
        return indices.containsKey(label);
    }

    /** {@code {"labels": [...]}}, the JSON a model directory stores. */
    public ObjectNode toJson() {
        ObjectNode root = MAPPER.createObjectNode();
        ArrayNode array = root.putArray("labels");
        names.forEach(array::add);
        return root;
    }

    /**
     * Reads the JSON {@link #toJson()} writes.
     *
     * @throws DataException if it is not an object with a non-empty array of distinct, non-empty
     *     string labels; {@code where} names the file or field in the message
     */
    public static LabelSet fromJson(JsonNode json, String where) throws DataException {
        JsonNode array = json == null ? null : json.get("labels");
        if (array == null || !array.isArray() || array.isEmpty()) {
            throw new DataException(where + " has no \"labels\" array; it should look like {\"labels\": [\"neg\", \"pos\"]}");
        }
        List<String> names = new ArrayList<>();
        for (JsonNode label : array) {
            if (!label.isTextual()) {
                throw new DataException(where + ": label " + label + " is not a string; write every label as a JSON string");
            }
            names.add(label.asText());
        }
        try {
            return new LabelSet(names);
        } catch (IllegalArgumentException e) {
            throw new DataException(where + ": " + e.getMessage() + "; fix the label list");
        }
    }

    /** Writes {@link #toJson()} to {@code file} atomically. */
    public void write(Path file) throws IOException {
        AtomicFiles.writeString(file, MAPPER.writeValueAsString(toJson()) + "\n");
    }

    /**
     * Reads a label set {@link #write} wrote.
     *
     * @throws DataException if the file is missing, is not JSON or is not a label set
     */
    public static LabelSet read(Path file) throws DataException {
        JsonNode json;
        try {
            json = MAPPER.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new DataException(file + " does not exist: a classification model keeps its label set there");
        } catch (IOException e) {
            throw new DataException(file + " is not a readable JSON label set (" + e.getMessage().lines().findFirst().orElse("")
                    + "); write it as {\"labels\": [...]}", e);
        }
        return fromJson(json, file.toString());
    }

    private static boolean isInteger(String s) {
        return s.matches("-?\\d+");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LabelSet other && names.equals(other.names);
    }

    @Override
    public int hashCode() {
        return names.hashCode();
    }

    @Override
    public String toString() {
        return names.toString();
    }
}
