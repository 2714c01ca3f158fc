package io.troupe.data.prepare;

import static io.troupe.data.prepare.DatasetFixture.jsonl;
import static io.troupe.data.prepare.DatasetFixture.prepare;
import static io.troupe.data.prepare.DatasetFixture.prose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import io.troupe.data.shard.PreparedDataset;
import io.troupe.data.tokenize.HfJsonTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WordPiecePrepareTest {

    @TempDir
    Path dir;

    @Test
    void preparesAWordPieceDatasetThatLoadsWithItsTokenizer() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        List<String> docs = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            docs.add(prose(i, 80) + " Ünïcödé & ‘quotes’.");
        }
        jsonl(corpus.resolve("docs.jsonl"), docs);

        PrepareResult result = prepare(List.of(corpus), dir.resolve("wp"), false, "tokenizer=wordpiece",
                "vocab_size=120");
        assertEquals(HfJsonTokenizer.TYPE, result.manifest().tokenizer());
        assertEquals(120, result.manifest().vocabSize());

        PreparedDataset data = PreparedDataset.open(result.directory());
        HfJsonTokenizer tokenizer = assertInstanceOf(HfJsonTokenizer.class, data.tokenizer());
        assertEquals(3, tokenizer.tokenId("[SEP]").getAsInt());
        int[] all = DatasetFixture.all(data.train());
        int separators = 0;
        for (int id : all) {
            separators += id == 3 ? 1 : 0;
            assertTrue(id != 1, "no [UNK] in text the vocabulary was trained on");
        }
        assertEquals(result.report().count(io.troupe.data.report.Counter.DOCS_TRAIN), separators, "[SEP] after every train document");
        String decoded = tokenizer.decode(all);
        assertTrue(decoded.contains("unicode & ‘ quotes ’. [SEP] chapter"), decoded.substring(0, 600));

        DataException e = assertThrows(DataException.class, () -> prepare(List.of(corpus), dir.resolve("v"), false,
                "tokenizer=wordpiece", "vocab_size=5"));
        assertTrue(e.getMessage().startsWith("vocab size 5 is out of range: a trained wordpiece"), e.getMessage());
    }
}
