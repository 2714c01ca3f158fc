package io.troupe.worker.card;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MODEL_CARD.md from a run directory's files. */
class ModelCardTest {
    @TempDir
    Path tmp;

    private Path run(String dataPath, String kind) throws Exception {
        Path run = Files.createDirectories(tmp.resolve("run"));
        Files.writeString(run.resolve("summary.json"), """
                {"steps": 100, "final_train_loss": 2.5, "final_val_loss": 2.0, "best_val_loss": 1.9,
                 "tokens_per_second": 5000.0, "wall_seconds": 12.5, "params": 804096, "accuracy": 0.75,
                 "data": {"path": "%s", "kind": "%s", "sha256": "abc123"},
                 "config": {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "dropout": 0.0, "bias": false,
                  "tied_embeddings": true, "batch_size": 12, "grad_accum": 2, "learning_rate": 0.001, "min_lr": 1e-4,
                  "warmup_iters": 5, "lr_decay_iters": 100, "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.1,
                  "grad_clip": 1.0, "seed": 1337, "vocab_size": 4096, "tokenizer": "bpe"}}
                """.formatted(dataPath, kind));
        return run;
    }

    @Test
    void describesModelDataTrainingEvaluationAndLimits() throws Exception {
        Path ds = Files.createDirectories(tmp.resolve("ds"));
        Files.writeString(ds.resolve("manifest.json"), """
                {"format": "troupe-dataset", "tokenizer": "bpe", "documents": 40, "tokens": {"train": 900, "val": 100},
                 "report": {"augmentation": {"mode": "cda", "split": "train", "documents_swapped": 30,
                   "terms_swapped": 77, "copies_added": 30},
                  "audit": {"male_terms": 130, "female_terms": 20, "male_to_female": 6.5, "duplicate_rate": 0.1,
                   "non_ascii_letters": 0.0, "mean_length_chars": 512.5,
                   "top_skewed_occupations": [{"occupation": "doctor", "male_share": 0.9}]}}}
                """);
        Path run = run(ds.toString(), "dataset");
        Path card = ModelCard.write(run);
        String md = Files.readString(card);
        assertTrue(md.contains("| parameters | 804,096 |"), md);
        assertTrue(md.contains("| layers / heads / width | 4 / 4 / 128 |"), md);
        assertTrue(md.contains("- sha256: `abc123`"), md);
        assertTrue(md.contains("augmentation: cda on the train split, 30 documents swapped (77 terms), 30 copies added"), md);
        assertTrue(md.contains("| gendered terms, male / female | 130 / 20 (ratio 6.5000) |"), md);
        assertTrue(md.contains("doctor (90% male)"), md);
        // 100 steps x 12 x 64 x 2
        assertTrue(md.contains("| tokens seen | 153,600 "), md);
        assertTrue(md.contains(String.format("| val perplexity | %.3f |", Math.exp(2.0))), md);
        assertTrue(md.contains("| accuracy | 0.7500 |"), "other metrics are listed: " + md);
        assertTrue(md.contains("## Bias audit\n\nNone run yet"), md);
        assertTrue(md.contains("## Intended use and limits"), md);
        try (Stream<Path> files = Files.list(run)) {
            assertEquals(2, files.count(), "only summary.json and the card: no temp file left");
        }
    }

    @Test
    void theMonitoringSectionShowsTheReferenceProfileThresholdsAndTheLatestServe() throws Exception {
        Path run = run(tmp.resolve("data.txt").toString(), "text");
        Files.writeString(run.resolve(ModelCard.REFERENCE_PROFILE), """
                {"version": 1, "tokenizer": "char", "source": "data.txt (sha256 abc)", "texts": 100, "perplexity": 7.25,
                 "confidence": null, "lengths": [0, 0, 10, 30, 60, 0, 0, 0, 0, 0, 0, 0, 0], "tokens": [900, 95, 5]}
                """);
        String md = ModelCard.render(run);
        assertTrue(md.contains("| from | data.txt (sha256 abc) |"), md);
        assertTrue(md.contains("| texts / tokens | 100 / 1,000 (char tokenizer, 3 token bins) |"), md);
        assertTrue(md.contains("| text lengths (tokens) | 4-7 (10%), 8-15 (30%), 16-31 (60%) |"), md);
        assertTrue(md.contains("| characters outside the vocabulary | 5 |"), md);
        assertTrue(md.contains("| val perplexity, text by text | 7.2500 |"), md);
        assertTrue(md.contains("Thresholds (troupe serve's defaults)"), md);
        Files.writeString(run.resolve(ModelCard.SERVE_REPORT), """
                {"time": "2026-12-06T23:00:00Z", "model": "run",
                 "drift": {"status": "drift", "threshold": 0.3, "window_texts": 200, "psi": {"tokens": 1.25, "length": 0.5},
                  "prompt_perplexity": 30.5, "reference_perplexity": 7.25},
                 "feedback": {"status": "ok"}, "accuracy": {"status": "off"}}
                """);
        md = ModelCard.render(run);
        assertTrue(md.contains("Thresholds (of the latest serve)"), md);
        assertTrue(md.contains("exceeds 0.3000"), md);
        assertTrue(md.contains("| drift status | drift over 200 texts |"), md);
        assertTrue(md.contains("| PSI tokens / length | 1.2500 / 0.5000 |"), md);
        assertTrue(md.contains("| prompt perplexity (reference) | 30.5000 (7.2500) |"), md);
        assertTrue(md.contains("| live accuracy / macro-F1 | n/a (off) |"), md);
    }

    @Test
    void anEncodersMonitoringSectionNamesItsPseudoPerplexityOrSaysThereIsNone() throws Exception {
        Path run = run(tmp.resolve("data.txt").toString(), "text");
        Files.writeString(run.resolve(ModelCard.REFERENCE_PROFILE), """
                {"version": 1, "tokenizer": "hf_json", "source": "data.txt (sha256 abc)", "texts": 100, "perplexity": 40.5,
                 "perplexity_kind": "pseudo", "confidence": null, "lengths": [0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                 "tokens": [900, 100, 0]}
                """);
        Files.writeString(run.resolve(ModelCard.SERVE_REPORT), """
                {"time": "2026-12-06T23:00:00Z", "model": "run",
                 "drift": {"status": "ok", "threshold": 0.25, "window_texts": 200, "psi": {"tokens": 0.05, "length": 0.01},
                  "perplexity": "pseudo", "prompt_perplexity": 42.5, "reference_perplexity": 40.5},
                 "feedback": {"status": "off"}, "accuracy": {"status": "off"}}
                """);
        String md = ModelCard.render(run);
        assertTrue(md.contains("| val pseudo-perplexity (MLM, each token masked in turn), text by text | 40.5000 |"), md);
        assertTrue(md.contains("| prompt pseudo-perplexity (reference) | 42.5000 (40.5000) |"), md);

        Files.writeString(run.resolve(ModelCard.REFERENCE_PROFILE), """
                {"version": 1, "tokenizer": "hf_json", "source": "examples.txt (sha256 abc)", "texts": 100,
                 "perplexity": null, "perplexity_kind": "none", "confidence": null,
                 "lengths": [0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "tokens": [900, 100, 0]}
                """);
        Files.writeString(run.resolve(ModelCard.SERVE_REPORT), """
                {"time": "2026-12-06T23:00:00Z", "model": "run",
                 "drift": {"status": "ok", "threshold": 0.25, "window_texts": 200, "psi": {"tokens": 0.05, "length": 0.01},
                  "perplexity": "not available: this encoder has no masked-language-model head"},
                 "feedback": {"status": "off"}, "accuracy": {"status": "off"}}
                """);
        md = ModelCard.render(run);
        assertTrue(md.contains("| perplexity | not available for this model"), md);
        assertTrue(md.contains("| perplexity | not available: this encoder has no masked-language-model head |"), md);
        assertTrue(!md.contains("text by text") && !md.contains("prompt perplexity"), md);
    }

    @Test
    void showsTheLatestBiasAuditAndSaysWhatIsMissing() throws Exception {
        Path run = run(tmp.resolve("gone").toString(), "dataset");
        Files.writeString(run.resolve(ModelCard.BIAS_AUDIT), """
                {"date": "2026-12-06T20:00:00Z", "pairsFile": "crows.csv", "pairsSha256": "dfb3", "skipped": 2,
                 "overall": {"name": "all", "pairs": 100, "pctStereotype": 55.0, "ciLow": 45.0, "ciHigh": 65.0, "meanGap": 0.5},
                 "categories": [{"name": "gender", "pairs": 40, "pctStereotype": 60.0, "ciLow": 45.0, "ciHigh": 75.0,
                   "meanGap": -0.25}]}
                """);
        String md = ModelCard.render(run);
        assertTrue(md.contains("| all | 100 | 55.0 | 45.0-65.0 | +0.500 |"), md);
        assertTrue(md.contains("| gender | 40 | 60.0 | 45.0-75.0 | -0.250 |"), md);
        assertTrue(md.contains("59.2 overall and 56.9 on gender"), md);
        assertTrue(md.contains("is missing), so its audit cannot be shown"), md);

        assertTrue(md.contains("No reference profile stored"), md);
        assertTrue(md.contains("No live numbers"), md);

        Path exportOnly = Files.createDirectories(tmp.resolve("export"));
        String bare = ModelCard.render(exportOnly);
        assertTrue(bare.contains("has no summary.json"), bare);
        assertFalse(bare.contains("## Training\n"), bare);
    }
}
