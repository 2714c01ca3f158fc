package io.troupe.data.audit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The data audit of a prepare run: every document that is written to the dataset goes through
 * {@link #add}, and {@link #toJson} gives what was seen. Not thread-safe: prepare calls it from
 * its one sequential stage.
 *
 * <p>It counts gendered terms (a {@link WordPairs} list: the first word of a pair is the male
 * term), the gendered terms within {@link #WINDOW} words of each occupation word (from
 * {@value #OCCUPATIONS_RESOURCE}), the mix of character classes and scripts, and the length of
 * documents in characters (a power-of-two histogram, so memory stays constant). {@link #measure} does
 * the per-document work and may run on any thread; {@link #add(Measured)} only sums.
 */
public final class DataAudit {
    /** Words on each side of an occupation word within which a gendered term counts as co-occurring. */
    public static final int WINDOW = 10;
    /** An occupation is ranked only when at least this many gendered terms occur near it. */
    public static final int MIN_OCCUPATION_TERMS = 5;
    /** The built-in occupation words, with their source noted in the file. */
    public static final String OCCUPATIONS_RESOURCE = "occupations.txt";
    private static final int TOP = 15;
    private static final int MALE = 1;
    private static final int FEMALE = 2;

    private final WordPairs terms;
    private final String termsSource;
    private final Map<String, Integer> kind = new HashMap<>(); // lower-case term -> MALE | FEMALE
    private final Map<String, String> occupation = new HashMap<>(); // any form -> its first form
    private final Map<String, long[]> termCounts = new HashMap<>();
    private final Map<String, long[]> nearOccupation = new TreeMap<>(); // base -> {mentions, male, female}
    private final long[] lengthBuckets = new long[33];
    private final Map<String, Long> classes = new TreeMap<>();
    private final Map<String, Long> scripts = new TreeMap<>();
    private long documents;
    private long characters;
    private long words;
    private long male;
    private long female;
    private long minLength = Long.MAX_VALUE;
    private long maxLength;

    /**
     * @param terms the gendered pairs (male first)
     * @param termsSource where they came from, for the report
     */
    public DataAudit(WordPairs terms, String termsSource) {
        this.terms = terms;
        this.termsSource = termsSource;
        for (String w : terms.secondWords()) {
            kind.put(w, FEMALE);
        }
        for (String w : terms.firstWords()) {
            kind.put(w, MALE); // a word on both sides (none in the built-in list) counts as male
        }
        loadOccupations();
    }

    private void loadOccupations() {
        try (InputStream in = DataAudit.class.getResourceAsStream(OCCUPATIONS_RESOURCE)) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                line = line.strip();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                String[] forms = line.toLowerCase(Locale.ROOT).split("\\s+");
                for (String f : forms) {
                    occupation.put(f, forms[0]);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("the built-in " + OCCUPATIONS_RESOURCE + " is unreadable", e);
        }
    }

    /**
     * What one document contributes: computed by {@link #measure} on any thread (it reads only the
     * word tables, which never change), added by {@link #add(Measured)} in order.
     */
    public static final class Measured {
        private final int length;
        private final long words;
        private final long male;
        private final long female;
        private final Map<String, long[]> terms = new HashMap<>();
        private final Map<String, long[]> occupations = new HashMap<>(); // base -> {mentions, male, female}
        private final long[] classes = new long[CLASSES.length];
        private final Map<String, Long> scripts = new HashMap<>();

        private Measured(int length, long words, long male, long female) {
            this.length = length;
            this.words = words;
            this.male = male;
            this.female = female;
        }
    }

    private static final String[] CLASSES = {"ascii_letters", "other_letters", "digits", "whitespace", "punctuation", "other"};

    /** Counts one document (measure and add in one; prepare splits them across threads). */
    public void add(String text) {
        add(measure(text));
    }

    /** Measures one document without touching this audit's totals: safe on any thread. */
    public Measured measure(String text) {
        List<String> docWords = new ArrayList<>();
        Words.scan(text, (s, e) -> docWords.add(text.substring(s, e).toLowerCase(Locale.ROOT)));
        int n = docWords.size();
        int[] maleBefore = new int[n + 1]; // prefix sums of gendered terms
        int[] femaleBefore = new int[n + 1];
        Map<String, long[]> terms = new HashMap<>();
        for (int i = 0; i < n; i++) {
            int k = kind.getOrDefault(docWords.get(i), 0);
            maleBefore[i + 1] = maleBefore[i] + (k == MALE ? 1 : 0);
            femaleBefore[i + 1] = femaleBefore[i] + (k == FEMALE ? 1 : 0);
            if (k != 0) {
                terms.computeIfAbsent(docWords.get(i), w -> new long[1])[0]++;
            }
        }
        Measured m = new Measured(text.length(), n, maleBefore[n], femaleBefore[n]);
        m.terms.putAll(terms);
        for (int i = 0; i < n; i++) {
            String base = occupation.get(docWords.get(i));
            if (base != null) {
                int from = Math.max(0, i - WINDOW);
                int to = Math.min(n, i + WINDOW + 1);
                long[] c = m.occupations.computeIfAbsent(base, b -> new long[3]);
                c[0]++;
                c[1] += maleBefore[to] - maleBefore[from];
                c[2] += femaleBefore[to] - femaleBefore[from];
            }
        }
        countCharacters(text, m);
        return m;
    }

    /** Adds a measured document to the totals. Not thread-safe: prepare calls it from one stage, in order. */
    public void add(Measured m) {
        documents++;
        characters += m.length;
        minLength = Math.min(minLength, m.length);
        maxLength = Math.max(maxLength, m.length);
        lengthBuckets[32 - Integer.numberOfLeadingZeros(m.length)]++; // bucket b holds lengths in [2^(b-1), 2^b)
        words += m.words;
        male += m.male;
        female += m.female;
        m.terms.forEach((w, c) -> termCounts.computeIfAbsent(w, k -> new long[1])[0] += c[0]);
        m.occupations.forEach((base, c) -> {
            long[] all = nearOccupation.computeIfAbsent(base, b -> new long[3]);
            for (int i = 0; i < 3; i++) {
                all[i] += c[i];
            }
        });
        for (int i = 0; i < CLASSES.length; i++) {
            classes.merge(CLASSES[i], m.classes[i], Long::sum);
        }
        m.scripts.forEach((k, v) -> scripts.merge(k, v, Long::sum));
    }

    private static void countCharacters(String text, Measured m) {
        long[] c = m.classes;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cp < 128) {
                // The common case without Character's tables.
                if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') {
                    c[0]++;
                } else if (cp >= '0' && cp <= '9') {
                    c[2]++;
                } else if (cp == ' ' || cp == '\n' || cp == '\t' || cp == '\r' || cp == 0x0B || cp == 0x0C
                        || (cp >= 0x1C && cp <= 0x1F)) {
                    c[3]++;
                } else if (isPunctuation(cp)) {
                    c[4]++;
                } else {
                    c[5]++;
                }
            } else if (Character.isLetter(cp)) {
                c[1]++;
                m.scripts.merge(Character.UnicodeScript.of(cp).name().toLowerCase(Locale.ROOT), 1L, Long::sum);
            } else if (Character.isDigit(cp)) {
                c[2]++;
            } else if (Character.isWhitespace(cp)) {
                c[3]++;
            } else if (isPunctuation(cp)) {
                c[4]++;
            } else {
                c[5]++;
            }
        }
        if (c[0] > 0) {
            m.scripts.merge("latin", c[0], Long::sum);
        }
    }

    private static boolean isPunctuation(int cp) {
        int t = Character.getType(cp);
        return t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION
                || t == Character.START_PUNCTUATION || t == Character.END_PUNCTUATION
                || t == Character.INITIAL_QUOTE_PUNCTUATION || t == Character.FINAL_QUOTE_PUNCTUATION
                || t == Character.OTHER_PUNCTUATION;
    }

    /** Male and female term counts so far. */
    public long maleTerms() {
        return male;
    }

    /** Female term count so far. */
    public long femaleTerms() {
        return female;
    }

    /** male / female, or NaN when no female term occurred. */
    public double maleToFemale() {
        return female == 0 ? Double.NaN : (double) male / female;
    }

    /**
     * The whole audit as JSON.
     *
     * @param duplicates the deduplicator's counts (documents before dedup, exact, near)
     */
    public ObjectNode toJson(ObjectMapper mapper, long beforeDedup, long exactDuplicates, long nearDuplicates) {
        ObjectNode root = mapper.createObjectNode();
        root.put("documents", documents).put("characters", characters).put("words", words);
        ObjectNode g = root.putObject("gendered_terms");
        g.put("word_list", termsSource).put("pairs_in_list", terms.size());
        g.put("male", male).put("female", female);
        putNumber(g, "male_to_female", maleToFemale());
        putNumber(g, "per_1000_words", words == 0 ? Double.NaN : 1000.0 * (male + female) / words);
        ArrayNode pairs = g.putArray("pairs");
        List<String[]> byUse = new ArrayList<>(terms.pairs());
        byUse.sort(Comparator.comparingLong((String[] p) -> -(count(p[0]) + count(p[1]))));
        for (String[] p : byUse.subList(0, Math.min(TOP * 2, byUse.size()))) {
            if (count(p[0]) + count(p[1]) > 0) {
                pairs.addObject().put("male", p[0]).put("female", p[1]).put("male_count", count(p[0]))
                        .put("female_count", count(p[1]));
            }
        }
        ObjectNode occ = root.putObject("occupations");
        occ.put("window_words", WINDOW).put("min_gendered_terms", MIN_OCCUPATION_TERMS);
        ArrayNode skewed = occ.putArray("top_skewed");
        for (Map.Entry<String, long[]> e : skewedOccupations()) {
            long[] c = e.getValue();
            skewed.addObject().put("occupation", e.getKey()).put("mentions", c[0]).put("male_nearby", c[1])
                    .put("female_nearby", c[2]).put("male_share", (double) c[1] / (c[1] + c[2]));
        }
        ObjectNode dup = root.putObject("duplicates");
        dup.put("documents_before_dedup", beforeDedup).put("exact", exactDuplicates).put("near", nearDuplicates);
        putNumber(dup, "rate", beforeDedup == 0 ? Double.NaN : (double) (exactDuplicates + nearDuplicates) / beforeDedup);
        ObjectNode mix = root.putObject("character_classes");
        classes.forEach((k, v) -> mix.put(k, characters == 0 ? 0 : (double) v / characters));
        ObjectNode letterScripts = root.putObject("letter_scripts");
        long letters = scripts.values().stream().mapToLong(Long::longValue).sum();
        scripts.forEach((k, v) -> letterScripts.put(k, (double) v / letters));
        ObjectNode len = root.putObject("length_chars");
        len.put("min", documents == 0 ? 0 : minLength).put("max", maxLength);
        putNumber(len, "mean", documents == 0 ? Double.NaN : (double) characters / documents);
        len.put("median_below", quantileBound(0.5)).put("p90_below", quantileBound(0.9));
        ArrayNode hist = len.putArray("histogram");
        for (int b = 0; b < lengthBuckets.length; b++) {
            if (lengthBuckets[b] > 0) {
                hist.addObject().put("from", b == 0 ? 0 : 1L << (b - 1)).put("below", 1L << b)
                        .put("documents", lengthBuckets[b]);
            }
        }
        return root;
    }

    /** The short form recorded in every manifest. */
    public ObjectNode summary(ObjectMapper mapper, long beforeDedup, long exactDuplicates, long nearDuplicates) {
        ObjectNode full = toJson(mapper, beforeDedup, exactDuplicates, nearDuplicates);
        ObjectNode s = mapper.createObjectNode();
        s.put("documents", documents).put("words", words);
        s.put("male_terms", male).put("female_terms", female);
        s.set("male_to_female", full.path("gendered_terms").path("male_to_female"));
        s.set("duplicate_rate", full.path("duplicates").path("rate"));
        s.set("non_ascii_letters", full.path("character_classes").path("other_letters"));
        s.set("mean_length_chars", full.path("length_chars").path("mean"));
        ArrayNode top = s.putArray("top_skewed_occupations");
        for (var o : full.path("occupations").path("top_skewed")) {
            if (top.size() == 3) {
                break;
            }
            top.addObject().put("occupation", o.path("occupation").asText())
                    .put("male_share", o.path("male_share").asDouble());
        }
        return s;
    }

    private List<Map.Entry<String, long[]>> skewedOccupations() {
        List<Map.Entry<String, long[]>> ranked = new ArrayList<>();
        for (Map.Entry<String, long[]> e : new LinkedHashMap<>(nearOccupation).entrySet()) {
            if (e.getValue()[1] + e.getValue()[2] >= MIN_OCCUPATION_TERMS) {
                ranked.add(e);
            }
        }
        // Most one-sided first: |log((male + 1) / (female + 1))|, smoothed so a zero is finite.
        ranked.sort(Comparator.comparingDouble((Map.Entry<String, long[]> e) ->
                -Math.abs(Math.log((e.getValue()[1] + 1.0) / (e.getValue()[2] + 1.0)))).thenComparing(Map.Entry::getKey));
        return ranked.subList(0, Math.min(TOP, ranked.size()));
    }

    private long count(String term) {
        long[] c = termCounts.get(term);
        return c == null ? 0 : c[0];
    }

    /** The upper bound of the histogram bucket holding quantile q. */
    private long quantileBound(double q) {
        long seen = 0;
        for (int b = 0; b < lengthBuckets.length; b++) {
            seen += lengthBuckets[b];
            if (documents > 0 && seen >= q * documents) {
                return 1L << b;
            }
        }
        return 0;
    }

    private static void putNumber(ObjectNode node, String key, double value) {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            node.putNull(key);
        } else {
            node.put(key, value);
        }
    }
}
