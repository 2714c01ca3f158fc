package io.troupe.data.pairs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import io.troupe.data.tokenize.BpeTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PairsPreparerTest {

    @TempDir
    Path dir;

    private static final String[] WORDS = {"the", "cat", "dog", "sees", "a", "house", "red", "big", "runs", "fast"};
    private static final String[] MOTS = {"le", "chat", "chien", "voit", "une", "maison", "rouge", "grand", "court",
        "vite"};

    /** Pairs "FR<TAB>EN<TAB>note": English in column 2, with two French alternates per English sentence. */
    private Path pairsFile(int n) throws Exception {
        List<String> lines = new ArrayList<>();
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < n; i++) {
            int len = 2 + r.nextInt(8);
            StringBuilder en = new StringBuilder();
            StringBuilder fr = new StringBuilder();
            for (int k = 0; k < len; k++) {
                int w = r.nextInt(WORDS.length);
                en.append(k == 0 ? "" : " ").append(WORDS[w]);
                fr.append(k == 0 ? "" : " ").append(MOTS[w]);
            }
            en.append(" ").append(i).append('.');
            lines.add(fr + "\u202f!\t" + en + "\tnote");
            lines.add(fr + " alors\u00a0!\t" + en + "\tnote");
        }
        Path file = Files.createDirectories(dir.resolve("data")).resolve("pairs.tsv");
        Files.write(file, lines);
        Files.writeString(dir.resolve("data/_about.txt"), "Terms\nAttribution: example.org and friends\n");
        return file;
    }

    private PairsRequest request(Path file, Path out, String split, boolean force) {
        return new PairsRequest(List.of(file), out, force, 2, 1, "en", "fr", HashSplit.parse(split), 400, false,
                0.01, 16, 0);
    }

    @Test
    void writesSplitsThatReadBackAsTheTextWithOneSharedBpe() throws Exception {
        Path file = pairsFile(600);
        Path out = dir.resolve("out");
        PairsPreparer.Result result = PairsPreparer.run(request(file, out, "hash-en:80/10/10", false),
                PairsPreparer.attributionOf(List.of(file)));
        assertEquals("example.org and friends", result.attribution());
        assertEquals(1200, result.lines());

        PairDataset data = PairDataset.open(out);
        assertEquals("example.org and friends", data.manifest().path("attribution").asText());
        Tokenizer tokenizer = data.tokenizer();
        assertEquals(BpeTokenizer.TYPE, tokenizer.type());
        assertEquals(400, tokenizer.vocabSize());
        assertEquals("<|endoftext|>", tokenizer.decode(new int[] {data.eosId()}));
        assertEquals("<|pad|>", tokenizer.decode(new int[] {data.padId()}));
        assertEquals("<|bos|>", tokenizer.decode(new int[] {data.bosId()}));

        // Every pair comes back, in its English sentence's split, both alternates together.
        List<String> lines = Files.readAllLines(file);
        Map<String, String> splitOfEnglish = new HashMap<>();
        int total = 0;
        for (HashSplit.Part p : HashSplit.Part.values()) {
            PairDataset.Examples ex = data.split(p);
            assertTrue(ex.size() > 0, p + " is empty");
            total += ex.size();
            for (int i = 0; i < ex.size(); i++) {
                String en = tokenizer.decode(ex.source(i));
                String fr = tokenizer.decode(ex.target(i));
                assertTrue(lines.contains(fr + "\t" + en + "\tnote"), en + " / " + fr);
                String before = splitOfEnglish.putIfAbsent(en, p.id());
                assertTrue(before == null || before.equals(p.id()), "alternates of '" + en + "' straddle splits");
                assertEquals(ex.source(i).length, ex.sourceLengths()[i]);
            }
        }
        assertEquals(1200, total);
        PairsPreparer.SplitStats train = result.splits().get(HashSplit.Part.TRAIN);
        assertTrue(train.bucketedPadding() < train.randomPadding(), train.toString());
        assertEquals(train.bucketedPadding(),
                data.manifest().path("splits").path("train").path("padding_fraction_bucketed").asDouble(), 1e-12);
    }

    @Test
    void damagedFilesAndOccupiedDirectoriesAreRefused() throws Exception {
        Path file = pairsFile(200);
        Path out = dir.resolve("out");
        PairsPreparer.run(request(file, out, "hash-en:80/10/10", false), null);
        DataException again = assertThrows(DataException.class,
                () -> PairsPreparer.run(request(file, out, "hash-en:80/10/10", false), null));
        assertTrue(again.getMessage().contains("already holds a prepared dataset; pass --force"), again.getMessage());
        PairsPreparer.run(request(file, out, "hash-en:80/10/10", true), null);

        Path target = out.resolve("val/target.bin");
        byte[] bytes = Files.readAllBytes(target);
        bytes[0] ^= 1;
        Files.write(target, bytes);
        DataException damaged = assertThrows(DataException.class, () -> PairDataset.open(out));
        assertTrue(damaged.getMessage().contains("target.bin has sha256") && damaged.getMessage().contains("damaged"),
                damaged.getMessage());

        DataException lang = assertThrows(DataException.class,
                () -> PairsPreparer.run(request(file, dir.resolve("o2"), "hash-de:80/10/10", false), null));
        assertTrue(lang.getMessage().contains("hashes the 'de' side, but the sides are en (source) and fr (target)"),
                lang.getMessage());
        assertFalse(Files.exists(dir.resolve("o2")));
    }

    @Test
    void badLinesAreCountedAndRefusedAboveTheLimit() throws Exception {
        Path file = dir.resolve("bad.tsv");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 98; i++) {
            lines.add("Hello " + i + "\tBonjour " + i);
        }
        lines.add("no tab here");
        lines.add("Empty side\t ");
        Files.write(file, lines);
        PairReader.Result ok = new PairReader(1, 2, 0.05, false).read(List.of(file));
        assertEquals(98, ok.pairs().size());
        assertEquals(2, ok.badLines());
        DataException e = assertThrows(DataException.class, () -> new PairReader(1, 2, 0.01, false).read(List.of(file)));
        assertTrue(e.getMessage().startsWith("2 of 100 lines are not usable pairs (first: " + file + ":99 has no TAB)"),
                e.getMessage());
        DataException cols = assertThrows(DataException.class, () -> new PairReader(1, 3, 0.5, false).read(List.of(file)));
        assertTrue(cols.getMessage().contains(":1 has 2 columns, not the 3 needed"), cols.getMessage());
        assertThrows(DataException.class, () -> new PairReader(2, 2, 0, false));
        assertThrows(DataException.class, () -> new PairReader(1, 2, 0, false).read(List.of(dir.resolve("none"))));
    }

    @Test
    void typographicSpacesAreKeptUnlessNormalized() throws Exception {
        Path file = dir.resolve("fr.tsv");
        Files.writeString(file, "Go!\tVa\u202f!\nYes.\t«\u00a0Oui\u00a0» soft\u00adhyphen\u200b\n");
        assertEquals("Va\u202f!", new PairReader(1, 2, 0, false).read(List.of(file)).pairs().get(0).target());
        PairReader.Result n = new PairReader(1, 2, 0, true).read(List.of(file));
        assertEquals("Va !", n.pairs().get(0).target());
        assertEquals("« Oui » softhyphen", n.pairs().get(1).target());
        assertEquals(2, n.spacesNormalized());
    }
}
