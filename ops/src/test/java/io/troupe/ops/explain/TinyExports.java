package io.troupe.ops.explain;

import io.troupe.data.labelled.LabelSet;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.Pooling;
import io.troupe.worker.run.ClassifierExport;
import io.troupe.worker.run.ModelExport;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/** Tiny exported models for explanation tests, written the way train and finetune write them. */
public final class TinyExports {
    /** The characters of the tiny models' vocabulary. */
    public static final String ALPHABET = "abcdefghx .";
    public static final GptConfig TINY = new GptConfig(ALPHABET.length(), 8, 2, 2, 16, 0.0, true, true);

    private TinyExports() {
    }

    public static Tokenizer tokenizer() {
        return CharTokenizer.fromText(ALPHABET);
    }

    /**
     * A classifier ("no", "yes") that only looks at the letter x: every block's output projection
     * is zero, so each position's final state is ln_f(wte[token] + wpe[position]); wpe is the same
     * zero-mean vector b at every position, x's embedding is (s, -s, 0, ...) and every other
     * token's is zero-mean and zero in dimensions 0 and 1, where the head reads dimension 0 alone.
     * A token other than x then changes nothing the head reads, along any path to it.
     */
    public static Path onlyLooksAtX(Path dir) throws IOException {
        Tokenizer tokenizer = tokenizer();
        ClassifierHead head = new ClassifierHead(2, Pooling.MEAN);
        ParameterLayout layout = ClassifierGraphs.layout(TINY, head);
        float[] p = new float[Math.toIntExact(layout.size())];
        int c = TINY.nEmbd();
        for (String ln : new String[] {"h.0.ln_1", "h.0.ln_2", "h.1.ln_1", "h.1.ln_2", "ln_f"}) {
            fill(p, layout.view(ln + ".weight"), 1f);
        }
        // Attention and MLP weights are random but their output projections are zero.
        Random r = new Random(1);
        for (String w : new String[] {"c_attn", "mlp.c_fc"}) {
            for (int layer = 0; layer < 2; layer++) {
                String name = "h." + layer + "." + (w.startsWith("mlp") ? w : "attn." + w) + ".weight";
                ParameterLayout.View v = layout.view(name);
                for (int i = 0; i < v.length(); i++) {
                    p[Math.toIntExact(v.offset() + i)] = (float) (0.3 * r.nextGaussian());
                }
            }
        }
        int x = tokenizer.encode("x")[0];
        for (int token = 0; token < TINY.vocabSize(); token++) {
            int row = Math.toIntExact(layout.view("wte").offset()) + token * c;
            if (token == x) {
                p[row] = 2f;
                p[row + 1] = -2f;
            } else {
                for (int j = 2; j < c - 2; j += 2) {
                    float value = (float) r.nextGaussian();
                    p[row + j] = value;
                    p[row + j + 1] = -value;
                }
            }
        }
        for (int pos = 0; pos < TINY.blockSize(); pos++) {
            int row = Math.toIntExact(layout.view("wpe").offset()) + pos * c;
            p[row + c - 2] = 1f;
            p[row + c - 1] = -1f;
        }
        int w = Math.toIntExact(layout.view("cls.weight").offset());   // [C, K]
        p[w] = -1f;         // dimension 0 -> "no"
        p[w + 1] = 1f;      // dimension 0 -> "yes"
        ClassifierExport.write(dir, TINY, head, p, LabelSet.of("no", "yes"));
        tokenizer.save(dir);
        return dir;
    }

    /** A classifier with GPT-2 initialisation plus noise: attention and MLPs all count. */
    public static Path randomClassifier(Path dir, Pooling pooling) throws IOException {
        ClassifierHead head = new ClassifierHead(3, pooling);
        float[] p = noisy(ParameterInit.gpt2(TINY, ClassifierGraphs.layout(TINY, head), 7), 8);
        ClassifierExport.write(dir, TINY, head, p, LabelSet.of("neg", "neutral", "pos"));
        tokenizer().save(dir);
        return dir;
    }

    /** A language model with GPT-2 initialisation plus noise. */
    public static Path randomLanguageModel(Path dir) throws IOException {
        float[] p = noisy(ParameterInit.gpt2(TINY, ParameterLayout.of(TINY), 9), 10);
        ModelExport.write(dir, TINY, p);
        tokenizer().save(dir);
        return dir;
    }

    /** A BERT WordPiece tokenizer.json with the five specials and seven words. */
    public static final String ENCODER_TOKENIZER = """
            {"version": "1.0", "truncation": null, "padding": null,
             "added_tokens": [
               {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
               {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
               {"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
               {"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
               {"id": 4, "content": "[MASK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
             "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                            "strip_accents": null, "lowercase": true},
             "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": null, "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
             "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                       "max_input_chars_per_word": 100,
                       "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "the": 5, "cat": 6,
                                 "sat": 7, "on": 8, "mat": 9, "dog": 10, ".": 11}}}
            """;
    /** A post-LN encoder of width 8 over {@link #ENCODER_TOKENIZER}'s 12 tokens, 8 positions. */
    public static final EncoderConfig ENCODER = new EncoderConfig(12, 8, 2, 1, 2, 8, 16, 0.0, false, "none", 1e-5, false);

    /** An encoder classifier ("no", "yes") with these parameters, written as finetune --from onnx:FILE writes one. */
    public static Path encoderClassifier(Path dir, ClassifierHead head, float[] p) throws IOException {
        java.nio.file.Files.createDirectories(dir);
        ClassifierExport.write(dir, ENCODER, head, p, LabelSet.of("no", "yes"), "2 3");
        java.nio.file.Files.writeString(dir.resolve("tokenizer.json"), ENCODER_TOKENIZER);
        return dir;
    }

    /** An encoder classifier with GPT-2 initialisation plus noise. */
    public static Path randomEncoderClassifier(Path dir, Pooling pooling) throws IOException {
        ClassifierHead head = new ClassifierHead(2, pooling);
        float[] p = ParameterInit.gpt2(ENCODER, ClassifierGraphs.layout(ENCODER, head), 5);
        Random r = new Random(6);
        for (int i = 0; i < p.length; i++) {
            p[i] += (float) (0.3 * r.nextGaussian());
        }
        return encoderClassifier(dir, head, p);
    }

    private static float[] noisy(float[] p, long seed) {
        Random r = new Random(seed);
        for (int i = 0; i < p.length; i++) {
            p[i] += (float) (0.2 * r.nextGaussian());
        }
        return p;
    }

    private static void fill(float[] p, ParameterLayout.View v, float value) {
        int from = Math.toIntExact(v.offset());
        Arrays.fill(p, from, from + Math.toIntExact(v.length()), value);
    }
}
