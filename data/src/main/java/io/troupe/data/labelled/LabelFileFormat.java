package io.troupe.data.labelled;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The two layouts of a label file.
 *
 * <p>A file named {@code *.jsonl} or {@code *.ndjson} is JSONL; any other file is JSONL if its
 * first non-whitespace byte is <code>{</code>, and TSV otherwise, so {@code .txt} and {@code .tsv}
 * files such as the UCI sentiment sentences are read as TSV without a flag.
 */
public enum LabelFileFormat {
    /** One example a line: {@code text<TAB>label}, with an optional header line. */
    TSV,
    /** One JSON object a line: <code>{"text": "...", "label": "pos"}</code> (or an integer label). */
    JSONL;

    /** The format of {@code file}, by its name or its first byte (see the class comment). */
    public static LabelFileFormat of(Path file) throws IOException {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) {
            return JSONL;
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(4096);
            for (int i = 0; i < head.length; i++) {
                int b = head[i] & 0xff;
                boolean bom = i < 3 && (b == 0xef || b == 0xbb || b == 0xbf);
                if (bom || Character.isWhitespace(b)) {
                    continue;
                }
                return b == '{' ? JSONL : TSV;
            }
        }
        return TSV;
    }
}
