package io.troupe.ops.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.DataException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * How chat messages become one prompt for a model trained on plain text. A model directory may
 * store its own in {@value #FILE_NAME}: {@code {"name": ..., "message": "...{role}...{content}...",
 * "generation_prompt": "..."}}; each message is {@code message} with its role and content
 * filled in, and {@code generation_prompt} follows the last one. Without the file, the model
 * gets the plain-text template: each message's content on its own line, roles not rendered
 * (a character-level model has no role tokens, and its alphabet may lack even a colon), so the
 * model simply continues the conversation's text.
 */
public record ChatTemplate(String name, String message, String generationPrompt) {

    /** File name of a stored template inside a model directory. */
    public static final String FILE_NAME = "chat_template.json";

    /** The template of a model without a stored one. */
    public static final ChatTemplate PLAIN = new ChatTemplate("plain", "{content}\n", "");

    /** One chat message. */
    public record Message(String role, String content) {
    }

    /**
     * The template stored in {@code dir}, or {@link #PLAIN}.
     *
     * @throws DataException when the stored file is unreadable or malformed
     */
    public static ChatTemplate load(Path dir, ObjectMapper json) throws DataException {
        Path file = dir.resolve(FILE_NAME);
        if (!Files.exists(file)) {
            return PLAIN;
        }
        try {
            JsonNode node = json.readTree(file.toFile());
            String message = node.path("message").asText("");
            if (!message.contains("{content}")) {
                throw new DataException(file + " needs a \"message\" string containing {content}; fix it or delete the file "
                        + "to use the plain-text template");
            }
            return new ChatTemplate(node.path("name").asText("custom"), message, node.path("generation_prompt").asText(""));
        } catch (IOException e) {
            throw new DataException(file + " is not readable JSON (" + e.getMessage().lines().findFirst().orElse("")
                    + "); fix it or delete it to use the plain-text template", e);
        }
    }

    /** The prompt for {@code messages}. */
    public String render(List<Message> messages) {
        StringBuilder prompt = new StringBuilder();
        for (Message m : messages) {
            prompt.append(message.replace("{role}", m.role()).replace("{content}", m.content()));
        }
        return prompt.append(generationPrompt).toString();
    }

    /** A sentence for {@code /v1/models}: what the template does. */
    public String description() {
        if (this.equals(PLAIN)) {
            return "plain text: each message's content followed by a newline, roles not rendered; the model continues the text";
        }
        return "each message as " + json(message) + ", then " + json(generationPrompt);
    }

    private static String json(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\n", "\\n").replace("\"", "\\\"") + '"';
    }
}
