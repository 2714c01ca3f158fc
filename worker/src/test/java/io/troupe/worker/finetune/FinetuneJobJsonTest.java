package io.troupe.worker.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.seq2seq.Seq2SeqConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fine-tuning job a JoinJob carries: a translate job's config survives the wire; older JSON still reads. */
class FinetuneJobJsonTest {
    @Test
    void aTranslateJobCarriesItsSeq2SeqConfig() {
        Seq2SeqConfig cfg = new Seq2SeqConfig(300, 16, 24, 1, 2, 2, 16, 32, 0.1, 0.1);
        FinetuneJob job = FinetuneJob.parse(FinetuneJob.translate("/runs/x/start.safetensors", "ab", cfg, 96).toJson());
        assertTrue(job.translate());
        assertFalse(job.classify());
        assertEquals(cfg, job.seq2seqConfig());
        assertEquals(96, job.trainExamples());
        assertEquals(cfg.layout().views().size(), job.trains().size());
        assertEquals(cfg.layout().size(), job.seq2seqParameters());
    }

    @Test
    void aGptJobWithoutTheSeq2SeqFieldStillReads() {
        String older = "{\"task\":\"lm\",\"startPath\":\"/s\",\"startSha256\":\"ab\",\"trains\":[\"wte\"],\"loraRank\":0,"
                + "\"loraAlpha\":0,\"loraTargets\":\"\",\"loraDropout\":0,\"labels\":[],\"pooling\":\"last\","
                + "\"valFraction\":0,\"maxTokens\":0,\"maxBadRows\":0,\"trainExamples\":0}";
        FinetuneJob job = FinetuneJob.parse(older);
        assertEquals("lm", job.task());
        assertEquals("", job.seq2seq());
        assertEquals(0, job.seq2seqParameters());
        assertThrows(IllegalArgumentException.class, () -> new FinetuneJob("translate", "/s", "ab", List.of(), 0, 0, "",
                0, List.of(), "last", 0, 0, 0, 0));
    }
}
