package io.troupe.ops.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** The streamed text chunk written straight into a string equals the chunk built as a JSON tree. */
class OpenAiResponsesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aTextChunkWrittenDirectlyIsTheSameJsonAsTheTreeChunk() throws Exception {
        for (boolean chat : new boolean[] {false, true}) {
            OpenAiResponses shapes = new OpenAiResponses(JSON, chat, "model \"q\"\\x");
            for (String text : new String[] {"a", " the", "\"quoted\"", "back\\slash", "line\nbreak\ttab", "\u0001\u001f",
                "é€😀", "</script>"}) {
                String direct = shapes.textChunk(3, text);
                assertEquals(JSON.writeValueAsString(shapes.chunk(3, null, text, null)), direct, "chat " + chat + ": " + text);
                assertEquals(text, JSON.readTree(direct).at(chat ? "/choices/0/delta/content" : "/choices/0/text").asText());
                assertEquals("data: " + JSON.writeValueAsString(shapes.chunk(3, null, text, null)) + "\n\n",
                        shapes.textEvent(3, text), "the event is the chunk framed as one server-sent event");
            }
        }
    }
}
