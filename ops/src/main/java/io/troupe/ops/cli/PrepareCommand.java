package io.troupe.ops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.DataException;
import io.troupe.data.audit.AuditOptions;
import io.troupe.data.audit.AugmentMode;
import io.troupe.data.audit.WordPairs;
import io.troupe.data.ingest.InputSelection;
import io.troupe.data.prepare.PrepareListener;
import io.troupe.data.prepare.PrepareRequest;
import io.troupe.data.prepare.PrepareResult;
import io.troupe.data.prepare.PrepareSettings;
import io.troupe.data.prepare.Preparer;
import io.troupe.data.prepare.TokenizerKind;
import io.troupe.ops.prepare.PrepareProgress;
import io.troupe.ops.prepare.PrepareReportTable;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code troupe prepare}: cleans, deduplicates and tokenizes a corpus into a sharded dataset. */
@Command(name = "prepare",
        description = {"Turn text files (.txt, .md, .jsonl, optionally .gz) into a tokenized dataset.",
            "Decodes, cleans, filters, deduplicates, splits train/val by document, tokenizes and shards.",
            "Writes DIR/train/*.bin, DIR/val/*.bin, DIR/tokenizer.json and, last, DIR/manifest.json.",
            "Every setting and its default is in data/src/main/resources/reference.conf (troupe.prepare)."},
        mixinStandardHelpOptions = true)
final class PrepareCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--input", paramLabel = "PATH",
            description = "A file or directory to read (repeatable); directories are walked recursively.")
    private List<Path> inputs = new ArrayList<>();

    @Option(names = "--pairs", paramLabel = "FILE", arity = "1..*", description = {"Instead of --input: TAB-separated"
        + " translation pairs, one a line (e.g. ../shared/data/parallel-eng-fra/fra.part*.txt).",
        "Writes train/val/test source and target ids and one byte-level BPE trained on both sides."})
    private List<Path> pairs = new ArrayList<>();

    @Option(names = "--split", paramLabel = "SPEC",
            description = "With --pairs: hash-LANG:TRAIN/VAL/TEST, split by the MD5 of that side, e.g. hash-en:90/5/5.")
    private String split;

    @Option(names = "--source-column", paramLabel = "N", description = "With --pairs: the source side's column (default 1).")
    private Integer sourceColumn;

    @Option(names = "--target-column", paramLabel = "N", description = "With --pairs: the target side's column (default 2).")
    private Integer targetColumn;

    @Option(names = "--source-lang", paramLabel = "LANG", description = "With --pairs: the source's language (default en).")
    private String sourceLang;

    @Option(names = "--target-lang", paramLabel = "LANG", description = "With --pairs: the target's language (default fr).")
    private String targetLang;

    @Option(names = "--normalize-spaces", description = {"With --pairs: map no-break, narrow no-break and thin spaces to"
        + " ' ' and drop zero-width spaces and soft hyphens", "(French typography); by default they are kept."})
    private boolean normalizeSpaces;

    @Option(names = "--max-bad-fraction", paramLabel = "F",
            description = "With --pairs: refuse input whose share of unusable lines exceeds F (default 0.01).")
    private Double maxBadFraction;

    @Option(names = "--batch-size", paramLabel = "B",
            description = "With --pairs: the batch size of the padding-fraction report (default 64).")
    private Integer batchSize;

    @Option(names = "--pairs-tokenizer", paramLabel = "FILE", description = {"With --pairs: encode with this"
        + " tokenizer.json (another pairs dataset's or a seq2seq model's) instead of training a BPE,",
        "so that a model trained on other pairs can be fine-tuned on these (troupe finetune --from MODEL)."})
    private Path pairsTokenizer;

    @Option(names = "--attribution", paramLabel = "TEXT", description = {"With --pairs: the attribution to keep in the"
        + " manifest;", "by default the 'Attribution:' line of an _about.txt beside the files."})
    private String attribution;

    @Option(names = "--exclude", paramLabel = "GLOB",
            description = {"Leave out files under an --input directory whose path relative to it matches GLOB",
                "(repeatable), e.g. 'drafts/**'; a GLOB without '/' matches file names at any depth, e.g. '*.md'."})
    private List<String> excludes = new ArrayList<>();

    @Option(names = "--include-docs", description = {"Read README*, LICENSE*, LICENCE*, COPYING* and SOURCE_README*",
        "files found in input directories too; by default they are skipped, and stderr says which."})
    private boolean includeDocs;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Dataset directory to write.")
    private Path out;

    @Option(names = "--tokenizer", paramLabel = "NAME",
            description = {"char (vocabulary from the corpus; default), gpt2 (r50k_base), bpe (byte-level, trained here)",
                "or wordpiece (uncased BERT WordPiece trained here, with [PAD] [UNK] [CLS] [SEP] [MASK])."})
    private String tokenizer;

    @Option(names = "--vocab-size", paramLabel = "N", description = "Vocabulary of a trained bpe or wordpiece (default 4096).")
    private Integer vocabSize;

    @Option(names = "--val-fraction", paramLabel = "F", description = "Share of documents in val (default 0.1).")
    private Double valFraction;

    @Option(names = "--seed", paramLabel = "S", description = "Seed of the train/val split hash (default 0).")
    private Long seed;

    @Option(names = "--encoding", paramLabel = "CHARSET", description = "Input encoding (default UTF-8).")
    private String encoding;

    @Option(names = "--on-invalid", paramLabel = "POLICY",
            description = "Bytes invalid in the encoding: replace, skip (the document; default) or fail.")
    private String onInvalid;

    @Option(names = "--text-field", paramLabel = "NAME", description = "JSONL field with the text (default text).")
    private String textField;

    @Option(names = "--threads", paramLabel = "T", description = "Worker threads (default: the number of CPUs).")
    private Integer threads;

    @Option(names = "--strict", description = "Fail on binary files, malformed JSONL and invalid bytes instead of"
            + " skipping them.")
    private boolean strict;

    @Option(names = "--force", description = "Replace a dataset already in DIR.")
    private boolean force;

    @Option(names = "--json", description = "Print the report as one JSON object instead of a table.")
    private boolean json;

    @Option(names = "--audit", description = {"Write DIR/audit.json and DIR/audit.html: gendered terms, occupations near them,",
        "duplicates, character mix and lengths (the manifest always gets a short summary)."})
    private boolean audit;

    @Option(names = "--audit-words", paramLabel = "FILE",
            description = "Gendered word pairs ('male female', one pair per line) instead of the built-in list.")
    private Path auditWords;

    @Option(names = "--augment", paramLabel = "MODE", description = {"Counterfactual augmentation of the train split:",
        "cda adds a gender-swapped copy of every document with gendered terms, cda-replace swaps them in place."})
    private String augment;

    @Option(names = "--augment-names", paramLabel = "FILE",
            description = "First-name pairs to swap too with --augment (same format as --audit-words).")
    private Path augmentNames;

    @Parameters(paramLabel = "key=value", arity = "0..*",
            description = "Setting overrides, e.g. min_alpha_fraction=0.7 near_dup_threshold=0.9 (see reference.conf).")
    private List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws DataException {
        if (!pairs.isEmpty()) {
            if (!inputs.isEmpty() || tokenizer != null) {
                throw UserError.usage("--pairs prepares translation pairs with its own shared BPE; leave out --input"
                        + " and --tokenizer");
            }
            return PreparePairs.run(new PreparePairs.Options(pairs, out, force, split, sourceColumn, targetColumn,
                    sourceLang, targetLang, vocabSize, normalizeSpaces, maxBadFraction, batchSize, seed, attribution,
                    json, pairsTokenizer), spec.commandLine().getOut(), spec.commandLine().getErr());
        }
        if (inputs.isEmpty()) {
            throw UserError.usage("Missing required option: '--input=PATH' (or --pairs FILE... for translation pairs)");
        }
        if (split != null || sourceColumn != null || targetColumn != null || sourceLang != null || targetLang != null
                || normalizeSpaces || maxBadFraction != null || batchSize != null || attribution != null
                || pairsTokenizer != null) {
            throw UserError.usage("--split, --source-column, --target-column, --source-lang, --target-lang,"
                    + " --normalize-spaces, --max-bad-fraction, --batch-size, --attribution and --pairs-tokenizer apply"
                    + " only with --pairs");
        }
        if (threads != null && threads < 1) {
            throw UserError.usage("--threads must be at least 1, got " + threads);
        }
        PrepareSettings settings = UserError.onCommandLine(() -> PrepareSettings.load(settingOverrides()));
        if (vocabSize != null && settings.tokenizer().kind() != TokenizerKind.BPE
                && settings.tokenizer().kind() != TokenizerKind.WORDPIECE) {
            throw UserError.usage("--vocab-size applies only to --tokenizer bpe or wordpiece (char takes its vocabulary from the"
                    + " corpus, gpt2 has 50257 tokens)");
        }
        AuditOptions auditOptions = auditOptions();
        PrintWriter stdout = spec.commandLine().getOut();
        PrepareResult result;
        try (PrepareProgress progress = new PrepareProgress(stdout, System.console() != null)) {
            PrepareListener listener = new SkipNotice(json ? PrepareListener.NONE : progress,
                    spec.commandLine().getErr());
            result = Preparer.run(new PrepareRequest(inputs, out, force, settings,
                    new InputSelection(excludes, includeDocs), auditOptions), listener);
        }
        if (json) {
            Json.printLine(stdout, result.report().toJson(new ObjectMapper()));
        } else {
            PrepareReportTable.print(stdout, result);
            printAudit(stdout, result.manifest().report());
        }
        return TroupeCli.EXIT_OK;
    }

    /** Says on stderr which files were left out unread, and passes progress on. */
    private record SkipNotice(PrepareListener progress, PrintWriter stderr) implements PrepareListener {
        private static final int NAMES_SHOWN = 5;

        @Override
        public void onSkippedFiles(List<String> documentation, List<String> excluded) {
            if (!documentation.isEmpty()) {
                stderr.println("note: skipped " + documentation.size() + " README/LICENSE file(s) "
                        + names(documentation) + "; pass --include-docs to read them");
            }
            if (!excluded.isEmpty()) {
                stderr.println("note: excluded " + excluded.size() + " file(s) " + names(excluded)
                        + " matching --exclude");
            }
            stderr.flush();
        }

        private static String names(List<String> ids) {
            String shown = String.join(", ", ids.subList(0, Math.min(NAMES_SHOWN, ids.size())));
            return "(" + shown + (ids.size() > NAMES_SHOWN ? ", and " + (ids.size() - NAMES_SHOWN) + " more" : "") + ")";
        }

        @Override
        public void onPhaseStart(Phase phase, long totalBytes) {
            progress.onPhaseStart(phase, totalBytes);
        }

        @Override
        public void onProgress(Phase phase, long bytes, long documents) {
            progress.onProgress(phase, bytes, documents);
        }

        @Override
        public void onPhaseEnd(Phase phase) {
            progress.onPhaseEnd(phase);
        }
    }

    /** One line of the data audit's summary (and one of the augmentation), after the report table. */
    private void printAudit(PrintWriter stdout, JsonNode report) {
        JsonNode a = report.path("audit");
        JsonNode aug = report.path("augmentation");
        if (!aug.isMissingNode()) {
            stdout.printf(Locale.ROOT, "augmentation: %s, %,d train documents swapped (%,d terms), %,d copies added%n",
                    aug.path("mode").asText(), aug.path("documents_swapped").asLong(), aug.path("terms_swapped").asLong(),
                    aug.path("copies_added").asLong());
        }
        stdout.printf(Locale.ROOT, "audit: gendered terms %,d male / %,d female (ratio %s)%s%n", a.path("male_terms").asLong(),
                a.path("female_terms").asLong(), a.path("male_to_female").isNumber()
                        ? String.format(Locale.ROOT, "%.3f", a.path("male_to_female").asDouble()) : "n/a",
                audit ? "; full audit in " + out.resolve("audit.html") : "; --audit writes audit.json and audit.html");
        stdout.flush();
    }

    /** --audit, --audit-words, --augment and --augment-names, checked before anything is read. */
    private AuditOptions auditOptions() throws DataException {
        AugmentMode mode = augment == null ? AugmentMode.NONE : AugmentMode.parse(augment);
        if (augmentNames != null && mode == AugmentMode.NONE) {
            throw UserError.usage("--augment-names applies only with --augment cda or cda-replace");
        }
        AuditOptions defaults = AuditOptions.defaults();
        WordPairs terms = auditWords == null ? defaults.terms() : WordPairs.read(auditWords);
        String source = auditWords == null ? defaults.termsSource() : auditWords.toString();
        return new AuditOptions(audit, terms, source, mode, augmentNames == null ? null : WordPairs.read(augmentNames));
    }

    /** key=value pairs, then the flags (which win). */
    private Map<String, String> settingOverrides() {
        Map<String, String> all = new LinkedHashMap<>(KeyValues.parse(overrides));
        putQuoted(all, "tokenizer", tokenizer);
        put(all, "vocab_size", vocabSize);
        put(all, "val_fraction", valFraction);
        put(all, "seed", seed);
        putQuoted(all, "encoding", encoding);
        putQuoted(all, "on_invalid", onInvalid);
        putQuoted(all, "text_field", textField);
        put(all, "threads", threads);
        if (strict) {
            all.put("strict", "true");
        }
        return all;
    }

    private static void put(Map<String, String> all, String key, Object value) {
        if (value != null) {
            all.put(key, String.valueOf(value));
        }
    }

    private static void putQuoted(Map<String, String> all, String key, String value) {
        if (value != null) {
            // HOCON-quoted, so a value such as "ISO-8859-1" or "a.b" stays one string
            all.put(key, "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"");
        }
    }
}
