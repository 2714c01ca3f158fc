package io.troupe.data.prepare;

import io.troupe.data.DataException;
import io.troupe.data.corpus.TokenSequence;
import io.troupe.data.shard.PreparedDataset;
import io.troupe.data.shard.Split;
import io.troupe.data.tokenize.Tokenizer;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/** Helpers to write small corpora, run prepare on them and read the result back. */
final class DatasetFixture {

    private DatasetFixture() {
    }

    /** Runs prepare with 2 threads, the given key=value settings on top of the defaults. */
    static PrepareResult prepare(List<Path> inputs, Path out, boolean force, String... settings) throws DataException {
        return prepare(inputs, out, force, PrepareListener.NONE, settings);
    }

    static PrepareResult prepare(List<Path> inputs, Path out, boolean force, PrepareListener listener,
            String... settings) throws DataException {
        Map<String, String> overrides = new LinkedHashMap<>();
        overrides.put("threads", "2");
        for (String kv : settings) {
            int eq = kv.indexOf('=');
            overrides.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return Preparer.run(new PrepareRequest(inputs, out, force, PrepareSettings.load(overrides)), listener);
    }

    /** The documents of one split, read back from the shards (tokenizers with an end-of-text token). */
    static List<String> documents(Path dataset, Split split) throws DataException {
        PreparedDataset data = PreparedDataset.open(dataset);
        Tokenizer tokenizer = data.tokenizer();
        int eot = tokenizer.endOfTextId().orElseThrow();
        int[] ids = all(split == Split.TRAIN ? data.train() : data.val());
        List<String> docs = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == eot) {
                docs.add(tokenizer.decode(Arrays.copyOfRange(ids, start, i)));
                start = i + 1;
            }
        }
        if (start != ids.length) {
            throw new AssertionError("tokens after the last end-of-text");
        }
        return docs;
    }

    /** Every token of a sequence. */
    static int[] all(TokenSequence tokens) {
        long[] ids = new long[(int) tokens.length()];
        tokens.copyTo(0, ids, 0, ids.length);
        return Arrays.stream(ids).mapToInt(x -> (int) x).toArray();
    }

    /** Writes JSONL, one object {"text": doc} per document. */
    static Path jsonl(Path file, List<String> docs) throws IOException {
        StringBuilder out = new StringBuilder();
        for (String d : docs) {
            out.append("{\"text\":\"").append(d.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n"))
                    .append("\"}\n");
        }
        return Files.writeString(file, out.toString());
    }

    /** Writes bytes gzip-compressed. */
    static Path gzip(Path file, String text) throws IOException {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
        return file;
    }

    /** A distinct, clean, English-like document of about {@code words} words. */
    static String prose(int seed, int words) {
        String[] vocab = {"river", "stone", "garden", "morning", "letter", "window", "travel", "quiet", "winter",
            "candle", "harbor", "silver", "market", "meadow", "thunder", "lantern", "orchard", "village"};
        java.util.Random random = new java.util.Random(seed);
        StringBuilder s = new StringBuilder("Chapter " + seed + " begins");
        for (int i = 0; i < words; i++) {
            s.append(i % 12 == 0 ? ". The " : " ").append(vocab[random.nextInt(vocab.length)]);
        }
        return s.append('.').toString();
    }
}
