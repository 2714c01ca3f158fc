package io.troupe.data.tokenize;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.troupe.data.DataException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Opens a {@code tokenizer.json} in the Hugging Face tokenizers library (Rust, through DJL's
 * JNI binding), offline.
 *
 * <p>DJL's jar bundles {@code libtokenizers} for linux-x86_64/aarch64, macOS arm64 and Windows
 * x86_64 and extracts it to its cache directory ({@code ~/.djl.ai/tokenizers}, or
 * {@code $DJL_CACHE_DIR}). For any other platform it would download one, and its utilities may
 * send usage telemetry; {@code ai.djl.offline=true}, set here before the library is first touched
 * unless the user set it, forbids both, so a training machine never reaches the network for a
 * tokenizer.
 */
final class HfNativeTokenizers {

    /** DJL's switch that forbids downloads (of native libraries) and telemetry. */
    static final String OFFLINE_PROPERTY = "ai.djl.offline";

    static {
        if (System.getProperty(OFFLINE_PROPERTY) == null) {
            System.setProperty(OFFLINE_PROPERTY, "true");
        }
    }

    // Troupe's encode() is plain text to ids: the file's post-processor ([CLS] ... [SEP]), its
    // truncation (e.g. to 128) and its padding are the model code's business, not the tokenizer's.
    private static final Map<String, String> OPTIONS = Map.of(
            "addSpecialTokens", "false",
            "truncation", "false",
            "padding", "false");

    private HfNativeTokenizers() {
    }

    /**
     * The library's tokenizer for {@code json}.
     *
     * @throws DataException if the library rejects the JSON (the message carries its reason) or
     *     its native code cannot be loaded on this machine
     */
    static HuggingFaceTokenizer open(String json, String source) throws DataException {
        try {
            return HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), OPTIONS);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new DataException("cannot load the Hugging Face tokenizers native library for "
                    + System.getProperty("os.name") + "/" + System.getProperty("os.arch") + " (" + e.getMessage()
                    + "); DJL ships it for linux-x86_64/aarch64, osx-aarch64 and win-x86_64 and needs a writable"
                    + " cache directory (set DJL_CACHE_DIR)", e);
        } catch (IOException | RuntimeException e) {
            String reason = e.getMessage() == null ? e.toString() : e.getMessage().replace('\n', ' ');
            if (e.getClass().getName().startsWith("ai.djl.engine")) {
                throw new DataException("cannot load the Hugging Face tokenizers native library (" + reason
                        + "); DJL ships it for linux-x86_64/aarch64, osx-aarch64 and win-x86_64 and needs a"
                        + " writable cache directory (set DJL_CACHE_DIR)", e);
            }
            throw new DataException(source + " is not a tokenizer.json the Hugging Face tokenizers library can"
                    + " read (" + reason + "); save it again with tokenizers' Tokenizer.save", e);
        }
    }
}
