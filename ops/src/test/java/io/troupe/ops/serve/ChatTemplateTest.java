package io.troupe.ops.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.DataException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplateTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<ChatTemplate.Message> CHAT = List.of(new ChatTemplate.Message("system", "be brief"),
            new ChatTemplate.Message("user", "who goes there"));

    @TempDir
    Path dir;

    @Test
    void aModelWithoutAStoredTemplateGetsPlainText() throws Exception {
        ChatTemplate template = ChatTemplate.load(dir, JSON);
        assertSame(ChatTemplate.PLAIN, template);
        assertEquals("be brief\nwho goes there\n", template.render(CHAT));
        assertTrue(template.description().startsWith("plain text"));
    }

    @Test
    void aStoredTemplateRendersRolesAndTheGenerationPrompt() throws Exception {
        Files.writeString(dir.resolve(ChatTemplate.FILE_NAME),
                "{\"name\":\"play\",\"message\":\"{role}:\\n{content}\\n\\n\",\"generation_prompt\":\"assistant:\\n\"}");
        ChatTemplate template = ChatTemplate.load(dir, JSON);
        assertEquals("play", template.name());
        assertEquals("system:\nbe brief\n\nuser:\nwho goes there\n\nassistant:\n", template.render(CHAT));
    }

    @Test
    void aMalformedStoredTemplateIsRefusedWithTheFix() throws Exception {
        Files.writeString(dir.resolve(ChatTemplate.FILE_NAME), "{\"message\":\"no placeholder\"}");
        DataException e = assertThrows(DataException.class, () -> ChatTemplate.load(dir, JSON));
        assertTrue(e.getMessage().contains("{content}"), e.getMessage());
        Files.writeString(dir.resolve(ChatTemplate.FILE_NAME), "{not json");
        e = assertThrows(DataException.class, () -> ChatTemplate.load(dir, JSON));
        assertTrue(e.getMessage().contains("not readable JSON"), e.getMessage());
    }
}
