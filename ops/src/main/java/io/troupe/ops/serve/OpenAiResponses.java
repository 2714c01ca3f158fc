package io.troupe.ops.serve;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.ops.inference.BatchScheduler;
import java.util.UUID;

/**
 * Response bodies and stream chunks in the OpenAI shapes: {@code text_completion} for
 * {@code /v1/completions}, {@code chat.completion} and {@code chat.completion.chunk} for
 * {@code /v1/chat/completions}. One instance answers one request (one id and creation time).
 */
final class OpenAiResponses {
    private final ObjectMapper json;
    private final boolean chat;
    private final String model;
    private final String id;
    private final long created = System.currentTimeMillis() / 1000;
    /** The start of every text chunk of this response, up to the choice's index; rendered on first use. */
    private String textChunkHead;

    OpenAiResponses(ObjectMapper json, boolean chat, String model) {
        this.json = json;
        this.chat = chat;
        this.model = model;
        this.id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
    }

    /** The response id, the same in every chunk of a stream. */
    String id() {
        return id;
    }

    private ObjectNode head(String object) {
        ObjectNode root = json.createObjectNode();
        root.put("id", id);
        root.put("object", object);
        root.put("created", created);
        root.put("model", model);
        return root;
    }

    private ObjectNode usage(int promptTokens, int completionTokens) {
        ObjectNode usage = json.createObjectNode();
        usage.put("prompt_tokens", promptTokens);
        usage.put("completion_tokens", completionTokens);
        usage.put("total_tokens", promptTokens + completionTokens);
        return usage;
    }

    /** The whole answer of a request that did not stream. */
    ObjectNode whole(BatchScheduler.Result result) {
        ObjectNode root = head(chat ? "chat.completion" : "text_completion");
        ArrayNode choices = root.putArray("choices");
        for (BatchScheduler.Choice c : result.choices()) {
            ObjectNode choice = choices.addObject();
            choice.put("index", c.index());
            if (chat) {
                ObjectNode message = choice.putObject("message");
                message.put("role", "assistant");
                message.put("content", c.text());
                message.putNull("refusal");
            } else {
                choice.put("text", c.text());
            }
            choice.putNull("logprobs");
            choice.put("finish_reason", c.finishReason().apiName());
        }
        root.set("usage", usage(result.promptTokens(), result.completionTokens()));
        return root;
    }

    /** A stream chunk of one choice: its role (chat, first chunk), new text, or its finish reason. */
    ObjectNode chunk(int index, String role, String text, String finishReason) {
        ObjectNode root = head(chat ? "chat.completion.chunk" : "text_completion");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", index);
        if (chat) {
            ObjectNode delta = choice.putObject("delta");
            if (role != null) {
                delta.put("role", role);
                delta.put("content", "");
            }
            if (text != null) {
                delta.put("content", text);
            }
        } else {
            choice.put("text", text == null ? "" : text);
        }
        choice.putNull("logprobs");
        if (finishReason == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finishReason);
        }
        return root;
    }

    /**
     * The JSON of a stream chunk carrying new text of one choice, as {@link #chunk}{@code (index,
     * null, text, null)} would serialize it, but written straight into a string: a streamed token
     * costs one string build instead of a tree of nodes and a serializer pass.
     */
    String textChunk(int index, String text) {
        return textChunk(new StringBuilder(textChunkHead().length() + text.length() + 80), index, text).toString();
    }

    /** The server-sent event of {@link #textChunk}: {@code data: CHUNK} and the blank line, built in one buffer (once per token). */
    String textEvent(int index, String text) {
        StringBuilder out = new StringBuilder(textChunkHead().length() + text.length() + 90).append("data: ");
        return textChunk(out, index, text).append("\n\n").toString();
    }

    private String textChunkHead() {
        if (textChunkHead == null) {
            textChunkHead = "{\"id\":\"" + quoted(id) + "\",\"object\":\"" + (chat ? "chat.completion.chunk" : "text_completion")
                    + "\",\"created\":" + created + ",\"model\":\"" + quoted(model) + "\",\"choices\":[{\"index\":";
        }
        return textChunkHead;
    }

    private StringBuilder textChunk(StringBuilder out, int index, String text) {
        out.append(textChunkHead()).append(index);
        out.append(chat ? ",\"delta\":{\"content\":\"" : ",\"text\":\"");
        JsonStringEncoder.getInstance().quoteAsString(text, out);
        return out.append(chat ? "\"}" : "\"").append(",\"logprobs\":null,\"finish_reason\":null}]}");
    }

    private static String quoted(String value) {
        return new String(JsonStringEncoder.getInstance().quoteAsString(value));
    }

    /** The last chunk when the client asked for stream_options.include_usage: no choices, the usage. */
    ObjectNode usageChunk(int promptTokens, int completionTokens) {
        ObjectNode root = head(chat ? "chat.completion.chunk" : "text_completion");
        root.putArray("choices");
        root.set("usage", usage(promptTokens, completionTokens));
        return root;
    }
}
