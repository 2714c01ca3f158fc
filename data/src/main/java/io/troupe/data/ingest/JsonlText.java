package io.troupe.data.ingest;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * Pulls the text field out of one JSONL line with Jackson's streaming parser: other fields are
 * skipped without building a tree, which matters for lines with large metadata.
 */
public final class JsonlText {

    private static final JsonFactory FACTORY = new JsonFactory();

    private JsonlText() {
    }

    /** The text, or why the line is malformed. Exactly one of the two is non-null. */
    public record Result(String text, String problem) {
    }

    /** Extracts the string value of top-level field {@code field} from a JSON object line. */
    public static Result extract(String line, String field) {
        String text = null;
        try (JsonParser parser = FACTORY.createParser(line)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return new Result(null, "not a JSON object");
            }
            JsonToken token;
            while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                if (name.equals(field)) {
                    if (value != JsonToken.VALUE_STRING) {
                        return new Result(null, "field \"" + field + "\" is not a string");
                    }
                    text = parser.getText();
                } else {
                    parser.skipChildren();
                }
            }
            if (token != JsonToken.END_OBJECT) {
                return new Result(null, "malformed JSON object");
            }
            if (parser.nextToken() != null) {
                return new Result(null, "text after the JSON object");
            }
        } catch (IOException e) {
            return new Result(null, "malformed JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        return text == null ? new Result(null, "no field \"" + field + "\"") : new Result(text, null);
    }
}
