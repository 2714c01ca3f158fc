package io.troupe.data.prepare;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import io.troupe.data.audit.AuditHtml;
import io.troupe.data.audit.AuditOptions;
import io.troupe.data.audit.AugmentMode;
import io.troupe.data.audit.Counterfactual;
import io.troupe.data.audit.DataAudit;
import io.troupe.data.io.AtomicFiles;
import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;
import io.troupe.data.shard.Split;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where kept documents pass on their way to the tokenizer: counterfactual augmentation of the
 * train split (val stays as read, so that a model trained on augmented data is measured on the
 * same text), then the data audit of everything written. {@link #examine} does the CPU work on the
 * prepare workers; {@link #record} sums it in the stream's order in one stage, so nothing is locked.
 */
final class AuditStage {
    /** The full audit's file names in the dataset directory. */
    static final String AUDIT_JSON = "audit.json";
    static final String AUDIT_HTML = "audit.html";

    private final AuditOptions options;
    private final DataAudit audit;
    private final Counterfactual counterfactual;
    private long documentsSwapped;
    private long termsSwapped;

    AuditStage(AuditOptions options) {
        this.options = options;
        this.audit = new DataAudit(options.terms(), options.termsSource());
        this.counterfactual = options.augment() == AugmentMode.NONE ? null
                : new Counterfactual(options.terms(), options.names());
    }

    /** One kept document's outcome: the documents to write and their measurements. */
    record Examined(List<KeptDocument> documents, List<DataAudit.Measured> measured, int swaps) {
    }

    /**
     * The CPU work for a batch of kept documents, safe on any thread: the swapped copy of each train
     * document with gendered terms (cda: after it; cda-replace: instead of it) and the audit's
     * measurement of every document to write.
     */
    List<Examined> examine(List<KeptDocument> batch) {
        List<Examined> out = new ArrayList<>(batch.size());
        for (KeptDocument doc : batch) {
            List<KeptDocument> docs = List.of(doc);
            int swaps = 0;
            if (counterfactual != null && doc.split() == Split.TRAIN) {
                Counterfactual.Swapped swapped = counterfactual.swap(doc.text());
                if (swapped.swaps() > 0) {
                    swaps = swapped.swaps();
                    KeptDocument copy = new KeptDocument(doc.split(), swapped.text());
                    docs = options.augment() == AugmentMode.CDA ? List.of(doc, copy) : List.of(copy);
                }
            }
            List<DataAudit.Measured> measured = new ArrayList<>(docs.size());
            for (KeptDocument d : docs) {
                measured.add(audit.measure(d.text()));
            }
            out.add(new Examined(docs, measured, swaps));
        }
        return out;
    }

    /** Sums a batch's measurements and counts, in stream order, and returns the documents to write. Sequential. */
    List<KeptDocument> record(List<Examined> batch) {
        List<KeptDocument> out = new ArrayList<>();
        for (Examined e : batch) {
            if (e.swaps() > 0) {
                documentsSwapped++;
                termsSwapped += e.swaps();
            }
            e.measured().forEach(audit::add);
            out.addAll(e.documents());
        }
        return out;
    }

    /**
     * Adds the audit summary (and the augmentation, if any) to the manifest's report, and with
     * {@code --audit} writes the full audit next to it.
     */
    void finish(ObjectNode report, Counters counters, Path dir, ObjectMapper mapper) throws DataException {
        long exact = counters.get(Counter.EXACT_DUPLICATES);
        long near = counters.get(Counter.NEAR_DUPLICATES);
        long before = counters.get(Counter.DOCS_TRAIN) + counters.get(Counter.DOCS_VAL) + exact + near;
        report.set("audit", audit.summary(mapper, before, exact, near));
        if (counterfactual != null) {
            report.putObject("augmentation").put("mode", options.augment().id()).put("split", "train")
                    .put("documents_swapped", documentsSwapped).put("terms_swapped", termsSwapped)
                    .put("copies_added", options.augment() == AugmentMode.CDA ? documentsSwapped : 0)
                    .put("names_swapped", options.names() != null);
        }
        if (options.writeReport()) {
            ObjectNode full = audit.toJson(mapper, before, exact, near);
            try {
                AtomicFiles.writeString(dir.resolve(AUDIT_JSON),
                        mapper.writerWithDefaultPrettyPrinter().writeValueAsString(full) + "\n");
                AtomicFiles.writeString(dir.resolve(AUDIT_HTML), AuditHtml.render(full, dir.getFileName().toString()));
            } catch (IOException e) {
                throw DataException.io("cannot write the data audit in " + dir + ": " + e.getMessage()
                        + "; check that the disk is not full", e);
            }
        }
    }
}
