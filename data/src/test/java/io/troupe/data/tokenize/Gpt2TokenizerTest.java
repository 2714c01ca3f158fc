package io.troupe.data.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.troupe.data.DataException;
import org.junit.jupiter.api.Test;

class Gpt2TokenizerTest {

    private final Gpt2Tokenizer gpt2 = Gpt2Tokenizer.get();

    @Test
    void matchesOpenAiGpt2Ids() {
        // tiktoken.get_encoding("gpt2").encode("Hello world, this is a test.")
        assertArrayEquals(new int[] {15496, 995, 11, 428, 318, 257, 1332, 13},
                gpt2.encode("Hello world, this is a test."));
        // "'s" (338) splits off as a contraction; "\n\n" is one token (628); " The" (383) differs from "The" (464)
        assertArrayEquals(new int[] {464, 3290, 338, 886, 13, 628, 383, 886},
                gpt2.encode("The dog's end.\n\n The end"));
        assertEquals(50257, gpt2.vocabSize());
        assertEquals(50256, gpt2.endOfTextId().getAsInt());
    }

    @Test
    void specialTokenTextIsOrdinaryTextAndDecodesBack() {
        String text = "a <|endoftext|> b 🎭 naïve";
        int[] ids = gpt2.encode(text);
        for (int id : ids) {
            assertEquals(true, id != 50256);
        }
        assertEquals(text, gpt2.decode(ids));
        assertEquals("<|endoftext|>", gpt2.decode(new int[] {50256}));
        assertThrows(IllegalArgumentException.class, () -> gpt2.decode(new int[] {50257}));
    }

    @Test
    void jsonRoundTrip() throws DataException {
        assertEquals("{\"type\":\"gpt2\",\"encoding\":\"r50k_base\"}", gpt2.toJson());
        assertSame(gpt2, Tokenizer.fromJson(gpt2.toJson()));
        assertThrows(DataException.class, () -> Tokenizer.fromJson("{\"type\":\"gpt2\",\"encoding\":\"cl100k_base\"}"));
    }
}
