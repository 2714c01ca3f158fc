package io.troupe.data.labelled;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import io.troupe.errors.TroupeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabelledReaderTest {
    private static final Path SENTIMENT = Path.of("../../shared/data/sentiment-labelled-sentences");

    @TempDir
    Path tmp;

    @Test
    void readsTheUciSentimentFilesSkippingTheirHeader() {
        LabelledData all = LabelledReader.forTraining(0).read(SENTIMENT.resolve("all_labelled.txt"));
        assertEquals(3000, all.size());
        assertEquals(LabelSet.of("0", "1"), all.labels());
        assertEquals(1500, all.classCounts()[0]);
        assertEquals(1500, all.classCounts()[1]);
        assertTrue(all.badRows().isEmpty());
        LabelledExample first = all.examples().get(0);
        assertEquals("So there is no way for me to plug it in here in the US unless I go by a converter.", first.text());
        assertTrue(first.origin().endsWith("all_labelled.txt:2"), first.origin());

        LabelledData three = LabelledReader.forTraining(0).read(List.of(SENTIMENT.resolve("amazon_cells_labelled.txt"),
                SENTIMENT.resolve("imdb_labelled.txt"), SENTIMENT.resolve("yelp_labelled.txt")));
        assertEquals(3000, three.size());
        for (int i = 0; i < 3000; i++) {
            assertEquals(all.examples().get(i).text(), three.examples().get(i).text());
            assertEquals(all.examples().get(i).label(), three.examples().get(i).label());
        }
    }

    @Test
    void aHeaderIsDetectedByItsLabelColumnOnlyOnTheFirstRow() throws Exception {
        Path withHeader = write("h.tsv", "text\tlabel\ngood\tpos\nbad\tneg\n");
        assertEquals(2, LabelledReader.forTraining(0).read(withHeader).size());
        Path noHeader = write("n.tsv", "good\tpos\nbad\tneg\n");
        assertEquals(2, LabelledReader.forTraining(0).read(noHeader).size());
        Path laterWord = write("l.tsv", "good\tpos\nbad\tneg\nwhat\tlabel\n");
        assertEquals(LabelSet.of("label", "neg", "pos"), LabelledReader.forTraining(0).read(laterWord).labels(),
                "only the first row can be a header");
        Path labelIsAClass = write("c.tsv", "odd\tclass\nfine\tother\n");
        assertEquals(2, LabelledReader.forEvaluation(LabelSet.of("class", "other"), 0).read(labelIsAClass).size(),
                "a fixed label set that holds the word makes it data");
    }

    @Test
    void crLfLineEndingsAndAByteOrderMarkAreNotPartOfTheRows() throws Exception {
        Path crlf = write("crlf.tsv", "\uFEFFtext\tlabel\r\ngood one\tpos\r\nbad one \tneg\r\n");
        LabelledData data = LabelledReader.forTraining(0).read(crlf);
        assertEquals(List.of("good one", "bad one"), data.examples().stream().map(LabelledExample::text).toList());
        assertEquals(LabelSet.of("neg", "pos"), data.labels());
        assertTrue(data.examples().get(1).origin().endsWith("crlf.tsv:3"));
    }

    @Test
    void readsJsonlWithStringOrIntegerLabelsAndOrdersIntegersNumerically() throws Exception {
        Path jsonl = write("d.jsonl", "{\"text\": \"a\", \"label\": 10}\n\n{\"text\": \"b\", \"label\": 2, \"id\": 7}\n"
                + "{\"text\": \"c\", \"label\": \"2\"}\n");
        LabelledData data = LabelledReader.forTraining(0).read(jsonl);
        assertEquals(LabelSet.of("2", "10"), data.labels());
        assertEquals(List.of(1, 0, 0), data.examples().stream().map(LabelledExample::label).toList());
        Path sniffed = write("d.txt", "  {\"text\": \"x\", \"label\": \"neg\"}\n{\"text\": \"y\", \"label\": \"pos\"}\n");
        assertEquals(LabelSet.of("neg", "pos"), LabelledReader.forTraining(0).read(sniffed).labels());
    }

    @Test
    void feedbackRecordsMarkedTrainFalseAreSkippedNotBadRows() throws Exception {
        Path jsonl = write("feedback.jsonl", "{\"id\": \"clf-1\", \"known\": true, \"text\": \"good\", \"label\": \"pos\","
                + " \"train\": true}\n{\"id\": \"clf-2\", \"known\": false, \"label\": \"neg\", \"train\": false}\n"
                + "{\"id\": \"clf-3\", \"known\": true, \"text\": \"meh\", \"rating\": 2, \"train\": false}\n"
                + "{\"id\": \"clf-4\", \"text\": \"bad\", \"label\": \"neg\"}\n");
        LabelledData data = LabelledReader.forTraining(0).read(jsonl);
        assertEquals(List.of("good", "bad"), data.examples().stream().map(LabelledExample::text).toList());
        assertTrue(data.badRows().isEmpty());
    }

    @Test
    void badRowsAreNamedByFileAndLineAndTheLimitIsEnforced() throws Exception {
        Path tsv = write("bad.tsv", "sentence\tscore\ngood\t1\nno tab here\n\t0\nfine\t0\nlast\t\n");
        LabelledData data = LabelledReader.forTraining(3).read(tsv);
        assertEquals(2, data.size());
        assertEquals(List.of(tsv + ":3: no TAB between text and label", tsv + ":4: empty text", tsv + ":6: empty label"),
                data.badRows().stream().map(BadRow::toString).toList());

        DataException e = assertThrows(DataException.class, () -> LabelledReader.forTraining(2).read(tsv));
        assertEquals(TroupeException.Kind.INPUT_DATA, e.kind());
        assertEquals("3 bad rows, more than the 2 allowed (--max-bad-rows): " + tsv + ":3: no TAB between text and label; "
                + tsv + ":4: empty text; " + tsv + ":6: empty label; fix or remove those rows, or raise --max-bad-rows",
                e.getMessage());
    }

    @Test
    void theErrorNamesOnlyTheFirstFewBadRows() throws Exception {
        Path tsv = write("many.tsv", "a\t1\nb\t0\n" + "broken\n".repeat(8));
        DataException e = assertThrows(DataException.class, () -> LabelledReader.forTraining(0).read(tsv));
        assertTrue(e.getMessage().startsWith("8 bad rows"), e.getMessage());
        assertTrue(e.getMessage().contains(tsv + ":7: no TAB") && !e.getMessage().contains(tsv + ":8:"), e.getMessage());
        assertTrue(e.getMessage().contains("; and 3 more;"), e.getMessage());
    }

    @Test
    void malformedJsonAndUnknownLabelsInEvaluationAreBadRows() throws Exception {
        Path jsonl = write("e.jsonl", "{\"text\": \"a\", \"label\": \"pos\"}\n{\"text\": \"b\", \"label\": \"meh\"}\n"
                + "{\"text\": \"c\" \"label\": 1}\n[1, 2]\n{\"text\": \"d\", \"label\": 1.5}\n{\"label\": \"pos\"}\n");
        LabelledData data = LabelledReader.forEvaluation(LabelSet.of("neg", "pos"), 10).read(jsonl);
        assertEquals(1, data.size());
        List<String> reasons = data.badRows().stream().map(b -> b.line() + " " + b.reason()).toList();
        assertEquals(5, reasons.size(), reasons.toString());
        assertEquals("2 unknown label 'meh' (the model's labels are [neg, pos])", reasons.get(0));
        assertTrue(reasons.get(1).startsWith("3 not valid JSON"), reasons.get(1));
        assertEquals("4 not a JSON object with \"text\" and \"label\"", reasons.get(2));
        assertEquals("5 no \"label\" field that is a string or an integer", reasons.get(3));
        assertEquals("6 no string \"text\" field", reasons.get(4));
    }

    @Test
    void aSingleClassIsRefusedForTraining() throws Exception {
        Path tsv = write("one.tsv", "good\tpos\ngreat\tpos\n");
        DataException e = assertThrows(DataException.class, () -> LabelledReader.forTraining(0).read(tsv));
        assertEquals(tsv + " has a single class 'pos' (2 examples): classification needs examples of at least two labels;"
                + " add the other classes", e.getMessage());
    }

    @Test
    void missingFilesDirectoriesAndEmptyFilesAreClearErrors() throws Exception {
        LabelledReader reader = LabelledReader.forTraining(0);
        assertTrue(assertThrows(DataException.class, () -> reader.read(tmp.resolve("nope.tsv"))).getMessage()
                .contains("does not exist"));
        assertTrue(assertThrows(DataException.class, () -> reader.read(tmp)).getMessage().contains("is a directory"));
        Path empty = write("empty.tsv", "text\tlabel\n\n");
        assertTrue(assertThrows(DataException.class, () -> reader.read(empty)).getMessage()
                .contains("holds no labelled examples"));
        Path latin1 = tmp.resolve("latin1.tsv");
        Files.write(latin1, "ok\t1\ncaf\u00e9\t0\n".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(latin1 + ":2 is not valid UTF-8; save the file as UTF-8",
                assertThrows(DataException.class, () -> reader.read(latin1)).getMessage());
    }

    @Test
    void aLabelSetRoundTripsThroughItsFile() throws Exception {
        LabelSet labels = LabelSet.of("neg", "neutral", "pos");
        Path file = tmp.resolve("model").resolve(LabelSet.FILE_NAME);
        labels.write(file);
        assertEquals(labels, LabelSet.read(file));
        assertEquals("[neg, neutral, pos]", LabelSet.read(file).toString());
        Files.writeString(file, "{\"labels\": [\"a\", \"a\"]}");
        assertTrue(assertThrows(DataException.class, () -> LabelSet.read(file)).getMessage().contains("listed twice"));
        Files.writeString(file, "{\"labels\": []}");
        assertThrows(DataException.class, () -> LabelSet.read(file));
    }

    private Path write(String name, String content) throws Exception {
        return Files.writeString(tmp.resolve(name), content);
    }
}
