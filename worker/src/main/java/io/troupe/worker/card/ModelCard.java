package io.troupe.worker.card;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code MODEL_CARD.md}: what a run directory holds, for a reader deciding whether and how to use
 * the model. It is built only from files in (or named by) the directory, so it can be regenerated
 * at any time ({@code troupe card --model DIR}):
 * <ul>
 *   <li>{@code summary.json}: architecture, parameters, training settings, steps, compute, losses,
 *       and the data trained on (path and SHA-256);</li>
 *   <li>the prepared dataset's {@code manifest.json}, when the data is one and is still at its
 *       path: tokenizer, documents, tokens, augmentation and the data-audit summary;</li>
 *   <li>{@value #BIAS_AUDIT}: the latest {@code troupe audit bias} run against the model;</li>
 *   <li>{@value #REFERENCE_PROFILE} and {@value #SERVE_REPORT}: what {@code troupe serve} compares
 *       incoming text with, and the live numbers of the latest serve of this directory.</li>
 * </ul>
 * Written atomically: a reader sees the old card or the new one.
 */
public final class ModelCard {
    /** The card's file name. */
    public static final String FILE_NAME = "MODEL_CARD.md";
    /** The latest bias audit of the model in this directory, written by {@code troupe audit bias}. */
    public static final String BIAS_AUDIT = "bias_audit.json";
    /** The training data's profile serve watches drift against (written by ops' ReferenceProfile). */
    public static final String REFERENCE_PROFILE = "reference_profile.json";
    /** The latest live monitoring numbers of a serve of this directory (written by ops' ServeMonitor). */
    public static final String SERVE_REPORT = "serve_monitoring.json";
    private static final String SUMMARY = "summary.json";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Summary keys the card shows in their own sections; any other numeric key is listed as a metric. */
    private static final Set<String> KNOWN = Set.of("steps", "final_train_loss", "final_val_loss", "best_val_loss",
            "tokens_per_second", "wall_seconds", "params", "workers", "data", "config", "steps_skipped");

    private ModelCard() {
    }

    /** Writes {@code dir/MODEL_CARD.md} from what the directory holds; returns the file. */
    public static Path write(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        AtomicFiles.writeString(file, render(dir));
        return file;
    }

    /** The card's Markdown. */
    public static String render(Path dir) throws IOException {
        JsonNode summary = readJson(dir.resolve(SUMMARY));
        JsonNode config = summary == null ? JSON.nullNode() : summary.path("config");
        StringBuilder md = new StringBuilder(4096);
        md.append("# Model card: ").append(dir.toAbsolutePath().normalize().getFileName()).append("\n\n");
        md.append("Written by Troupe on ").append(Instant.now().truncatedTo(ChronoUnit.SECONDS))
                .append(" from the files of this directory; regenerate it with `troupe card --model DIR`.\n");
        if (summary == null) {
            md.append("\nThis directory has no summary.json, so its training is unknown: it holds an exported model"
                    + " only.\n");
        } else {
            model(md, summary, config);
            data(md, summary.path("data"));
            training(md, summary, config);
            evaluation(md, summary);
        }
        bias(md, readJson(dir.resolve(BIAS_AUDIT)));
        monitoring(md, readJson(dir.resolve(REFERENCE_PROFILE)), readJson(dir.resolve(SERVE_REPORT)));
        limits(md, summary);
        return md.toString();
    }

    /** True for a run of {@code train-seq2seq --workers N} (its summary's {@code arch}). */
    private static boolean seq2seq(JsonNode s) {
        return "seq2seq".equals(s.path("arch").asText());
    }

    private static void model(StringBuilder md, JsonNode s, JsonNode c) {
        if (seq2seq(s)) {
            // The job settings' GPT fields are not this model's: its config is the summary's "seq2seq".
            JsonNode m = s.path("seq2seq");
            md.append("\n## Model\n\nAn encoder-decoder transformer (seq2seq): it translates a source sentence into"
                    + " the target language.\n\n");
            table(md, "| | |", new String[][] {
                {"parameters", String.format(Locale.ROOT, "%,d", s.path("params").asLong())},
                {"encoder / decoder layers, heads, width", m.path("encoderLayers").asText() + " / "
                        + m.path("decoderLayers").asText() + ", " + m.path("nHead").asText() + ", "
                        + m.path("nEmbd").asText()},
                {"source / target positions", m.path("maxSource").asText() + " / " + m.path("maxTarget").asText()},
                {"vocabulary (shared, tied)", m.path("vocabSize").asText()},
                {"dropout, label smoothing", m.path("dropout").asText() + ", " + m.path("labelSmoothing").asText()},
            });
            return;
        }
        JsonNode labels = s.path("labels");
        md.append(labels.isArray()
                ? "\n## Model\n\nA decoder-only transformer (GPT) with a classification head: it labels a text as one of "
                        + labels + ".\n\n"
                : "\n## Model\n\nA decoder-only transformer (GPT) language model: it predicts the next token.\n\n");
        table(md, "| | |", new String[][] {
            {"parameters", String.format(Locale.ROOT, "%,d", s.path("params").asLong())},
            {"layers / heads / width", c.path("n_layer").asText() + " / " + c.path("n_head").asText() + " / "
                    + c.path("n_embd").asText()},
            {"context (tokens)", c.path("block_size").asText()},
            {"tokenizer / vocabulary", c.path("tokenizer").asText() + " / " + c.path("vocab_size").asText()},
            {"tied embeddings, bias, dropout", c.path("tied_embeddings").asText() + ", " + c.path("bias").asText()
                    + ", " + c.path("dropout").asText()},
        });
    }

    private static void data(StringBuilder md, JsonNode data) throws IOException {
        md.append("\n## Training data\n\n");
        if (data.isMissingNode()) {
            md.append("Not recorded in summary.json.\n");
            return;
        }
        md.append("- path: `").append(data.path("path").asText()).append("` (").append(data.path("kind").asText())
                .append(")\n- sha256: `").append(data.path("sha256").asText()).append("`\n");
        Path manifestFile = Path.of(data.path("path").asText()).resolve("manifest.json");
        if (!data.path("kind").asText().equals("dataset")) {
            md.append("\nA plain text file: it had no prepare step, so there is no data audit. Run `troupe prepare"
                    + " --audit` on it to get one.\n");
            return;
        }
        JsonNode manifest = readJson(manifestFile);
        if (manifest == null) {
            md.append("\nThe dataset is not at that path from here (").append(manifestFile)
                    .append(" is missing), so its audit cannot be shown.\n");
            return;
        }
        if ("troupe-pairs".equals(manifest.path("format").asText())) {
            md.append(String.format(Locale.ROOT, "- sentence pairs (%s to %s, `prepare --pairs`): %,d train and %,d val"
                            + " pairs, split %s; credit: %s%n", manifest.path("source_language").asText(),
                    manifest.path("target_language").asText(), manifest.path("splits").path("train").path("pairs").asLong(),
                    manifest.path("splits").path("val").path("pairs").asLong(), manifest.path("split").asText(),
                    manifest.path("attribution").asText("none recorded")));
            return;
        }
        JsonNode report = manifest.path("report");
        md.append(String.format(Locale.ROOT, "- tokenizer %s, %,d documents, %,d train and %,d val tokens%n",
                manifest.path("tokenizer").asText(), manifest.path("documents").asLong(),
                manifest.path("tokens").path("train").asLong(), manifest.path("tokens").path("val").asLong()));
        JsonNode aug = report.path("augmentation");
        if (!aug.isMissingNode()) {
            md.append(String.format(Locale.ROOT, "- augmentation: %s on the %s split, %,d documents swapped (%,d terms),"
                    + " %,d copies added%n", aug.path("mode").asText(), aug.path("split").asText(),
                    aug.path("documents_swapped").asLong(), aug.path("terms_swapped").asLong(),
                    aug.path("copies_added").asLong()));
        }
        JsonNode audit = report.path("audit");
        if (audit.isMissingNode()) {
            md.append("\nThe dataset was prepared before Troupe audited data: no audit summary.\n");
            return;
        }
        md.append("\n### Data audit (summary from the manifest)\n\n");
        StringBuilder skew = new StringBuilder();
        for (JsonNode o : audit.path("top_skewed_occupations")) {
            skew.append(skew.length() == 0 ? "" : ", ").append(o.path("occupation").asText())
                    .append(String.format(Locale.ROOT, " (%.0f%% male)", 100 * o.path("male_share").asDouble()));
        }
        table(md, "| | |", new String[][] {
            {"gendered terms, male / female", String.format(Locale.ROOT, "%,d / %,d (ratio %s)",
                    audit.path("male_terms").asLong(), audit.path("female_terms").asLong(),
                    number(audit.path("male_to_female")))},
            {"most gender-skewed occupations", skew.length() == 0 ? "none with enough mentions" : skew.toString()},
            {"duplicate rate", number(audit.path("duplicate_rate"))},
            {"non-ASCII letters (share of characters)", number(audit.path("non_ascii_letters"))},
            {"mean document length (characters)", number(audit.path("mean_length_chars"))},
        });
    }

    private static void training(StringBuilder md, JsonNode s, JsonNode c) {
        long steps = s.path("steps").asLong();
        long tokens = steps * c.path("batch_size").asLong() * c.path("block_size").asLong()
                * Math.max(1, c.path("grad_accum").asLong(1));
        md.append("\n## Training\n\n");
        String seen = seq2seq(s)
                ? String.format(Locale.ROOT, "%,d pair slots (steps x batch %s, the epochs' short batches filled)",
                        steps * c.path("batch_size").asLong(), c.path("batch_size").asText())
                : null;
        table(md, "| | |", new String[][] {
            {"steps", String.format(Locale.ROOT, "%,d", steps)},
            seen != null ? new String[] {"pairs seen", seen}
            : new String[] {"tokens seen", String.format(Locale.ROOT, "%,d (steps x batch %s x context %s x accumulation %s)", tokens,
                    c.path("batch_size").asText(), c.path("block_size").asText(), c.path("grad_accum").asText("1"))},
            {"wall time", seen != null ? String.format(Locale.ROOT, "%.1f s", s.path("wall_seconds").asDouble())
                    : String.format(Locale.ROOT, "%.1f s (%,.0f tokens/s)", s.path("wall_seconds").asDouble(),
                    s.path("tokens_per_second").asDouble())},
            {"workers", s.has("workers") ? s.path("workers").asText() : "1 (local)"},
            {"optimizer", String.format(Locale.ROOT, "AdamW, lr %s (min %s, warm-up %s, decay to step %s), betas %s/%s,"
                    + " weight decay %s, clip %s", c.path("learning_rate").asText(), c.path("min_lr").asText(),
                    c.path("warmup_iters").asText(), c.path("lr_decay_iters").asText(), c.path("beta1").asText(),
                    c.path("beta2").asText(), c.path("weight_decay").asText(), c.path("grad_clip").asText())
                    + discriminativeRates(c)},
            {"seed", c.path("seed").asText()},
        });
    }

    /** ", body at F x lr, layer decay D" when the run used discriminative learning rates, else "". */
    private static String discriminativeRates(JsonNode c) {
        double body = c.path("lr_body_scale").asDouble(1);
        double decay = c.path("lr_layer_decay").asDouble(1);
        if (body == 1 && decay == 1) {
            return "";
        }
        return String.format(Locale.ROOT, "; discriminative rates: body at %s x lr, layer decay %s",
                c.path("lr_body_scale").asText("1.0"), c.path("lr_layer_decay").asText("1.0"));
    }

    private static void evaluation(StringBuilder md, JsonNode s) {
        md.append("\n## Evaluation\n\n");
        double val = s.path("final_val_loss").asDouble(Double.NaN);
        table(md, "| metric | value |", new String[][] {
            {"final train loss (nats/token)", number(s.path("final_train_loss"))},
            {"final val loss (nats/token)", number(s.path("final_val_loss"))},
            {"best val loss", number(s.path("best_val_loss"))},
            {"val perplexity", Double.isNaN(val) ? "n/a" : String.format(Locale.ROOT, "%.3f", Math.exp(val))},
        });
        Iterator<Map.Entry<String, JsonNode>> fields = s.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> e = fields.next();
            if (!KNOWN.contains(e.getKey()) && (e.getValue().isNumber() || e.getValue().isObject())) {
                md.append("| ").append(e.getKey()).append(" | ").append(e.getValue().isNumber()
                        ? number(e.getValue()) : "`" + e.getValue() + "`").append(" |\n");
            }
        }
    }

    private static void bias(StringBuilder md, JsonNode audit) {
        md.append("\n## Bias audit\n\n");
        if (audit == null) {
            md.append("None run yet: `troupe audit bias --model DIR --pairs crows_pairs_anonymized.csv` adds it here.\n");
            return;
        }
        JsonNode all = audit.path("overall");
        md.append(String.format(Locale.ROOT, "Latest `troupe audit bias` (%s): `%s` (sha256 `%s`), %d pairs scored,"
                + " %d skipped. pct_stereotype is the share of pairs where the model gives the more stereotypical"
                + " sentence the higher likelihood; 50 means no measured preference.%n%n",
                audit.path("date").asText("date not recorded"), audit.path("pairsFile").asText(),
                audit.path("pairsSha256").asText(), all.path("pairs").asInt(), audit.path("skipped").asInt()));
        md.append("| category | pairs | pct_stereotype | 95% CI | mean gap (nats) |\n|---|---:|---:|---:|---:|\n");
        row(md, all);
        for (JsonNode g : audit.path("categories")) {
            row(md, g);
        }
        md.append("\nFor scale: GPT-2 small scores 59.2 overall and 56.9 on gender (CrowS-Pairs, causal-LM"
                + " scoring). A small model sits near 50 mostly because it knows too little to tell the sentences"
                + " apart, not because it is free of bias.\n");
    }

    /** What serve watches: the reference profile, the thresholds, and the latest live numbers if a serve wrote them. */
    private static void monitoring(StringBuilder md, JsonNode profile, JsonNode live) {
        md.append("\n## Monitoring\n\n");
        if (profile == null) {
            md.append("No reference profile stored (`" + REFERENCE_PROFILE + "`): `troupe serve` computes it from the"
                    + " training data named above when it starts, if that data is still there.\n");
        } else {
            long tokens = 0;
            for (JsonNode c : profile.path("tokens")) {
                tokens += c.asLong();
            }
            JsonNode counts = profile.path("tokens");
            long unknown = counts.isArray() && counts.size() > 0 ? counts.get(counts.size() - 1).asLong() : 0;
            StringBuilder lengths = new StringBuilder();
            JsonNode bins = profile.path("lengths");
            long texts = Math.max(1, profile.path("texts").asLong());
            for (int i = 0; i < bins.size(); i++) {
                if (bins.get(i).asLong() * 20 >= texts) { // bins holding at least 5% of the texts
                    lengths.append(lengths.length() == 0 ? "" : ", ").append(i == 0 ? "0-1" : (1 << i) + "-"
                            + ((1 << (i + 1)) - 1)).append(String.format(Locale.ROOT, " (%.0f%%)",
                            100.0 * bins.get(i).asLong() / texts));
                }
            }
            md.append("Reference profile (`" + REFERENCE_PROFILE + "`), what `troupe serve` compares incoming text with:\n\n");
            table(md, "| | |", new String[][] {
                {"from", profile.path("source").asText("not recorded")},
                {"texts / tokens", String.format(Locale.ROOT, "%,d / %,d (%s tokenizer, %d token bins)",
                        profile.path("texts").asLong(), tokens, profile.path("tokenizer").asText(), counts.size())},
                {"text lengths (tokens)", lengths.length() == 0 ? "n/a" : lengths.toString()},
                {"characters outside the vocabulary", String.format(Locale.ROOT, "%,d", unknown)},
                referenceScore(profile),
            });
        }
        JsonNode drift = live == null ? null : live.path("drift");
        JsonNode accuracy = live == null ? null : live.path("accuracy");
        md.append(String.format(Locale.ROOT, "%nThresholds%s: drift when the population stability index (PSI) of the"
                + " token or the length distribution of the last incoming texts exceeds %s (`--drift-threshold`, over"
                + " `--drift-window` texts); for a classifier, an alert when live accuracy over labelled feedback falls"
                + " under %s (`--accuracy-alert`).%n", live == null ? " (troupe serve's defaults)" : " (of the latest serve)",
                drift != null && drift.path("threshold").isNumber() ? number(drift.path("threshold")) : "0.25",
                accuracy != null && accuracy.path("threshold").isNumber() ? number(accuracy.path("threshold")) : "0.8"));
        if (live == null) {
            md.append("\nNo live numbers: no `troupe serve` of this directory has written `" + SERVE_REPORT + "` yet.\n");
            return;
        }
        md.append("\nLatest live numbers (`" + SERVE_REPORT + "`, " + live.path("time").asText("time not recorded")
                + "):\n\n");
        table(md, "| | |", new String[][] {
            {"drift status", drift.path("status").asText("n/a") + " over " + drift.path("window_texts").asText("0")
                    + " texts"},
            {"PSI tokens / length", number(drift.path("psi").path("tokens")) + " / "
                    + number(drift.path("psi").path("length"))},
            liveScore(drift),
            {"feedback store", live.path("feedback").path("status").asText("n/a")},
            {"live accuracy / macro-F1", accuracy.path("accuracy").isNumber()
                    ? number(accuracy.path("accuracy")) + " / " + number(accuracy.path("macro_f1")) + " over "
                            + accuracy.path("labelled").asText() + " labelled answers (" + accuracy.path("status").asText()
                            + ")"
                    : "n/a (" + accuracy.path("status").asText("off") + ")"},
        });
    }

    /** The reference's own score row: a perplexity (causal or an MLM's pseudo), a classifier's confidence, or none. */
    private static String[] referenceScore(JsonNode profile) {
        String kind = profile.path("perplexity_kind").asText(profile.path("perplexity").isNumber() ? "causal" : "none");
        if (profile.path("perplexity").isNumber()) {
            return new String[] {kind.equals("pseudo") ? "val pseudo-perplexity (MLM, each token masked in turn), text by"
                    + " text" : "val perplexity, text by text", number(profile.path("perplexity"))};
        }
        if (profile.path("confidence").isNumber()) {
            return new String[] {"mean top-class probability", number(profile.path("confidence"))};
        }
        return new String[] {"perplexity", "not available for this model (an encoder without a masked-language-model"
                + " head has no perplexity of either kind)"};
    }

    /** The live score row: prompt perplexity beside the reference's, a classifier's confidence, or why there is none. */
    private static String[] liveScore(JsonNode drift) {
        if (drift.has("prompt_perplexity")) {
            String kind = drift.path("perplexity").asText("causal");
            return new String[] {(kind.equals("pseudo") ? "prompt pseudo-perplexity" : "prompt perplexity") + " (reference)",
                number(drift.path("prompt_perplexity")) + " (" + number(drift.path("reference_perplexity")) + ")"};
        }
        if (drift.has("confidence")) {
            return new String[] {"mean top-class probability (reference)", number(drift.path("confidence")) + " ("
                    + number(drift.path("reference_confidence")) + ")"};
        }
        return new String[] {"perplexity", drift.path("perplexity").asText("n/a")};
    }

    private static void row(StringBuilder md, JsonNode g) {
        md.append(String.format(Locale.ROOT, "| %s | %d | %.1f | %.1f-%.1f | %+.3f |%n", g.path("name").asText(),
                g.path("pairs").asInt(), g.path("pctStereotype").asDouble(), g.path("ciLow").asDouble(),
                g.path("ciHigh").asDouble(), g.path("meanGap").asDouble()));
    }

    private static void limits(StringBuilder md, JsonNode summary) {
        md.append("\n## Intended use and limits\n\n"
                + "- Intended for research, teaching and experiments with training language models: small, trained"
                + " on the data named above and nothing else.\n"
                + "- Not for decisions about people, nor for any use where its text is taken as fact: it produces"
                + " fluent-looking text that can be false, incoherent or offensive.\n"
                + "- It reproduces the language, period and viewpoints of its training data, including their"
                + " stereotypes; the data audit and bias audit above measure some of this, in English and for"
                + " binary gender terms and U.S. stereotype categories only.\n"
                + "- The bias audit is coarse: CrowS-Pairs has known noise and reliability problems"
                + " (Blodgett et al., 2021), and a score near 50 does not mean the model is unbiased.\n");
        if (summary != null && summary.path("config").path("tokenizer").asText().equals("char")) {
            md.append("- A character-level model: it cannot score text with characters outside its vocabulary.\n");
        }
    }

    private static void table(StringBuilder md, String header, String[][] rows) {
        md.append(header).append('\n').append(header.startsWith("| |") ? "|---|---|" : "|---|---:|").append('\n');
        for (String[] r : rows) {
            md.append("| ").append(r[0]).append(" | ").append(r[1]).append(" |\n");
        }
    }

    private static String number(JsonNode n) {
        if (!n.isNumber()) {
            return "n/a";
        }
        double v = n.asDouble();
        return Math.abs(v) >= 1000 || v == Math.rint(v) ? String.format(Locale.ROOT, "%,.0f", v)
                : String.format(Locale.ROOT, "%.4f", v);
    }

    /** The JSON in {@code file}, or null when it is missing or unreadable (the card then says so). */
    private static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            return null;
        }
    }
}
