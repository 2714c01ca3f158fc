package io.troupe.ops.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Toy English-French pairs, word for word over eight words, for the seq2seq command tests. */
final class ToyPairs {
    static final String[] WORDS = {"the", "cat", "dog", "sees", "a", "house", "red", "big"};
    static final String[] MOTS = {"le", "chat", "chien", "voit", "une", "maison", "rouge", "grand"};

    private ToyPairs() {
    }

    /** Writes 300 TAB-separated pairs of 1-3 words to {@code file}; {@code seed} picks the sentences. */
    static Path write(Path file, long seed) throws IOException {
        Random r = new Random(seed);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            StringBuilder en = new StringBuilder();
            StringBuilder fr = new StringBuilder();
            for (int k = 0, len = 1 + r.nextInt(3); k < len; k++) {
                int w = r.nextInt(WORDS.length);
                en.append(k == 0 ? "" : " ").append(WORDS[w]);
                fr.append(k == 0 ? "" : " ").append(MOTS[w]);
            }
            lines.add(en + "\t" + fr);
        }
        return Files.write(file, lines);
    }
}
