package io.troupe.worker.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Lists where two configs differ, so a refused resume or state transfer can say which settings
 * changed.
 *
 * <p>Configs that parse as JSON are compared as trees: key order and whitespace do not matter,
 * and numbers compare by value ({@code 6} equals {@code 6.0}). Anything else is compared as
 * text.
 */
public final class ConfigDiff {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** How many differences a one-line message lists. */
    private static final int SHOWN = 3;

    private ConfigDiff() {
    }

    /**
     * The differences between the config stored in a checkpoint and the one expected now, each
     * as {@code "path: <stored> in the checkpoint, <expected> now"}; empty when they agree.
     */
    public static List<String> differences(String stored, String expected) {
        List<String> out = new ArrayList<>();
        JsonNode storedTree = parse(stored);
        JsonNode expectedTree = parse(expected);
        if (storedTree == null || expectedTree == null) {
            if (!stored.equals(expected)) {
                out.add("the config text differs");
            }
            return out;
        }
        compare("", storedTree, expectedTree, out);
        return out;
    }

    /**
     * The first few {@link #differences}, joined with "; " and followed by how many more there
     * are, short enough for a one-line message.
     */
    public static String summary(List<String> differences) {
        int shown = Math.min(SHOWN, differences.size());
        return String.join("; ", differences.subList(0, shown))
                + (differences.size() > shown ? "; and " + (differences.size() - shown) + " more"
                        : "");
    }

    private static void compare(String path, JsonNode stored, JsonNode expected, List<String> out) {
        if (stored.isObject() && expected.isObject()) {
            TreeSet<String> keys = new TreeSet<>();
            stored.fieldNames().forEachRemaining(keys::add);
            expected.fieldNames().forEachRemaining(keys::add);
            for (String key : keys) {
                String child = path.isEmpty() ? key : path + "." + key;
                JsonNode a = stored.get(key);
                JsonNode b = expected.get(key);
                if (a == null || b == null) {
                    out.add(child + ": " + show(a) + " in the checkpoint, " + show(b) + " now");
                } else {
                    compare(child, a, b, out);
                }
            }
        } else if (stored.isArray() && expected.isArray() && stored.size() == expected.size()) {
            for (int i = 0; i < stored.size(); i++) {
                compare(path + "[" + i + "]", stored.get(i), expected.get(i), out);
            }
        } else if (!sameValue(stored, expected)) {
            String where = path.isEmpty() ? "config" : path;
            out.add(where + ": " + show(stored) + " in the checkpoint, " + show(expected) + " now");
        }
    }

    private static boolean sameValue(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue()) == 0;
        }
        return a.equals(b);
    }

    private static String show(JsonNode node) {
        return node == null ? "absent" : node.toString();
    }

    private static JsonNode parse(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            return null;
        }
    }
}
