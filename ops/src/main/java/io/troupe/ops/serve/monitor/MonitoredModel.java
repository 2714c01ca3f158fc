package io.troupe.ops.serve.monitor;

import ai.onnxruntime.OrtException;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.ops.inference.ExportedClassifier;
import io.troupe.ops.inference.ExportedEncoder;
import io.troupe.ops.inference.ExportedModel;
import io.troupe.worker.seq2seq.Seq2SeqModelDir;
import java.util.List;

/**
 * What the drift monitor needs of a served model, whatever its kind: its tokenizer (the token
 * histogram's bins), its context (texts are cut to it before scoring), and how it scores a text
 * against its training data: a causal language model's perplexity, an MLM encoder's
 * pseudo-perplexity, a classifier's top-class probability, or nothing at all for a sentence
 * encoder without an MLM head (which is said, never faked).
 */
public sealed interface MonitoredModel {
    /** Which perplexity the monitor reports for a model, if any. */
    enum PerplexityKind {
        /** exp(mean next-token loss): a GPT. */
        CAUSAL,
        /** exp(-PLL / tokens), each token masked in turn (Salazar et al. 2020): an encoder with an MLM head. */
        PSEUDO,
        /** No perplexity: a classifier, or a sentence encoder without an MLM head. */
        NONE;

        /** The name in JSON and Prometheus labels. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    Tokenizer tokenizer();

    /** The longest text in tokens the model reads (texts are split into lines of at most this for the reference). */
    int blockSize();

    PerplexityKind perplexityKind();

    /** Why there is no perplexity, for /health and the log; null when there is one. */
    default String noPerplexityReason() {
        return null;
    }

    /** One text's loss: its mean loss per token over {@code tokens} tokens, or null when it cannot be scored. */
    record Loss(double meanLoss, long tokens) {
    }

    /** The text's loss under the model (perplexity = exp(mean loss)); null when too short or the kind has none. */
    Loss score(int[] ids) throws OrtException;

    /** The classifier when the model is one (confidence instead of perplexity), else null. */
    default ExportedClassifier classifier() {
        return null;
    }

    /** A GPT. */
    static MonitoredModel of(ExportedModel model) {
        return new LanguageModel(model);
    }

    /** A classifier. */
    static MonitoredModel of(ExportedClassifier classifier) {
        return new Classifier(classifier);
    }

    /** An encoder: pseudo-perplexity with an MLM head, none without. */
    static MonitoredModel of(ExportedEncoder encoder) {
        return new Encoder(encoder);
    }

    /** A translation model: its source side is watched. */
    static MonitoredModel of(Seq2SeqModelDir translator) {
        return new Translator(translator);
    }

    /**
     * An encoder-decoder served for /v1/translate. The watched texts are the sources; their
     * tokens and lengths drift like any prompt's. A translation's loss needs a reference
     * translation, which a request does not carry, so there is no perplexity (said, not faked).
     */
    record Translator(Seq2SeqModelDir model) implements MonitoredModel {
        @Override
        public Tokenizer tokenizer() {
            return model.tokenizer();
        }

        @Override
        public int blockSize() {
            return model.config().maxSource();
        }

        @Override
        public PerplexityKind perplexityKind() {
            return PerplexityKind.NONE;
        }

        @Override
        public String noPerplexityReason() {
            return "not available: a translation model's loss needs a reference translation, which a request"
                    + " does not carry; the sources' tokens and lengths are watched";
        }

        @Override
        public Loss score(int[] ids) {
            return null;
        }
    }

    /** A GPT, scored prompt by prompt as {@link PromptLoss} does. */
    record LanguageModel(ExportedModel model) implements MonitoredModel {
        @Override
        public Tokenizer tokenizer() {
            return model.tokenizer();
        }

        @Override
        public int blockSize() {
            return model.blockSize();
        }

        @Override
        public PerplexityKind perplexityKind() {
            return PerplexityKind.CAUSAL;
        }

        @Override
        public Loss score(int[] ids) throws OrtException {
            var r = new PromptLoss(model).score(ids);
            return r == null ? null : new Loss(r.loss(), r.tokens());
        }
    }

    /** A text classifier: no perplexity, its confidence is observed by the request itself. */
    record Classifier(ExportedClassifier classifier) implements MonitoredModel {
        @Override
        public Tokenizer tokenizer() {
            return classifier.tokenizer();
        }

        @Override
        public int blockSize() {
            return Integer.MAX_VALUE;
        }

        @Override
        public PerplexityKind perplexityKind() {
            return PerplexityKind.NONE;
        }

        @Override
        public String noPerplexityReason() {
            return "a classifier has no perplexity; its mean top-class probability is watched instead";
        }

        @Override
        public Loss score(int[] ids) {
            return null;
        }

        /** The top-class probability of each text. */
        double[] confidences(List<String> texts) throws OrtException {
            float[][] p = classifier.probabilities(texts); // [texts][classes]
            double[] out = new double[p.length];
            for (int i = 0; i < p.length; i++) {
                out[i] = p[i][ExportedClassifier.argmax(p[i])];
            }
            return out;
        }
    }

    /** A BERT-style encoder served for /v1/embeddings. */
    record Encoder(ExportedEncoder encoder) implements MonitoredModel {
        @Override
        public Tokenizer tokenizer() {
            return encoder.tokenizer();
        }

        @Override
        public int blockSize() {
            return encoder.blockSize();
        }

        @Override
        public PerplexityKind perplexityKind() {
            return encoder.hasMlmHead() ? PerplexityKind.PSEUDO : PerplexityKind.NONE;
        }

        @Override
        public String noPerplexityReason() {
            return encoder.hasMlmHead() ? null : "not available: this encoder has no masked-language-model head (a"
                    + " sentence encoder), and an encoder has no causal perplexity";
        }

        @Override
        public Loss score(int[] ids) throws OrtException {
            if (!encoder.hasMlmHead()) {
                return null;
            }
            ExportedEncoder.PseudoLikelihood pll = encoder.pseudoLikelihoodOf(ids);
            return pll == null ? null : new Loss(-pll.sum() / pll.tokens(), pll.tokens());
        }
    }
}
