package io.troupe.data.audit;

import io.troupe.data.DataException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Pairs of words that name the two sides of a binary contrast ({@code male female}, or a male
 * and a female first name): the input of the gender audit and of counterfactual augmentation.
 *
 * <p>File format: entries separated by whitespace or commas, lower-cased on reading, taken two at
 * a time in order (one pair per line is the convention); {@code #} starts a comment line. An odd
 * number of entries is refused, since the last word would have no partner.
 */
public final class WordPairs {
    /** The built-in gendered pairs, with their source noted in the file. */
    public static final String GENDERED_RESOURCE = "gendered-terms.txt";

    private final List<String[]> pairs;
    private final Set<String> first = new LinkedHashSet<>();
    private final Set<String> second = new LinkedHashSet<>();
    private final Map<String, List<String>> swaps = new LinkedHashMap<>();

    private WordPairs(List<String[]> pairs) {
        this.pairs = List.copyOf(pairs);
        for (String[] p : pairs) {
            first.add(p[0]);
            second.add(p[1]);
            addSwap(p[0], p[1]);
            addSwap(p[1], p[0]);
        }
    }

    private void addSwap(String from, String to) {
        List<String> to2 = swaps.computeIfAbsent(from, k -> new ArrayList<>());
        if (!to2.contains(to)) {
            to2.add(to);
        }
    }

    /** The built-in gendered word pairs ({@value #GENDERED_RESOURCE}). */
    public static WordPairs gendered() {
        try (InputStream in = WordPairs.class.getResourceAsStream(GENDERED_RESOURCE)) {
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), GENDERED_RESOURCE);
        } catch (IOException | DataException e) {
            throw new IllegalStateException("the built-in " + GENDERED_RESOURCE + " is unreadable", e);
        }
    }

    /**
     * Reads a word-pair file.
     *
     * @throws DataException if it is missing, unreadable, empty or has an odd number of entries
     */
    public static WordPairs read(Path file) throws DataException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new DataException("cannot read word list " + file + ": " + e
                    + "; pass a UTF-8 file with one pair of words per line");
        }
        return parse(text, file.toString());
    }

    static WordPairs parse(String text, String source) throws DataException {
        List<String> entries = new ArrayList<>();
        int lastLine = 0;
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            for (String word : line.split("[\\s,]+")) {
                if (!word.isEmpty()) {
                    entries.add(word.toLowerCase(Locale.ROOT));
                    lastLine = i + 1;
                }
            }
        }
        if (entries.isEmpty()) {
            throw new DataException(source + " holds no words; it needs pairs such as 'he she', one per line");
        }
        if (entries.size() % 2 != 0) {
            throw new DataException(source + " has " + entries.size() + " entries, an odd number: the last word ('"
                    + entries.get(entries.size() - 1) + "', line " + lastLine + ") has no partner; every line"
                    + " needs a pair such as 'he she'");
        }
        List<String[]> pairs = new ArrayList<>();
        for (int i = 0; i < entries.size(); i += 2) {
            pairs.add(new String[] {entries.get(i), entries.get(i + 1)});
        }
        return new WordPairs(pairs);
    }

    /** Number of pairs. */
    public int size() {
        return pairs.size();
    }

    /** The first word of every pair (male terms in the gendered list). */
    public Set<String> firstWords() {
        return Collections.unmodifiableSet(first);
    }

    /** The second word of every pair (female terms in the gendered list). */
    public Set<String> secondWords() {
        return Collections.unmodifiableSet(second);
    }

    /** The pairs in file order, each {first, second}. */
    public List<String[]> pairs() {
        return pairs;
    }

    /** The words a lower-case word swaps to, in file order; empty when it is in no pair. */
    public List<String> swapsOf(String word) {
        return swaps.getOrDefault(word, List.of());
    }
}
