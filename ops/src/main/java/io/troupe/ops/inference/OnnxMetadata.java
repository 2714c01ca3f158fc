package io.troupe.ops.inference;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.troupe.data.DataException;
import io.troupe.protocol.onnx.StringStringEntryProto;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads an ONNX file's {@code metadata_props} without loading the model: the graph (and its
 * weights, 500 MB for GPT-2) is skipped, not parsed, so a server can tell what a directory holds
 * (a language model, an encoder, a classifier) before opening the right kind of session.
 */
public final class OnnxMetadata {
    /** ModelProto's field number of {@code metadata_props}. */
    private static final int METADATA_PROPS = 14;

    private OnnxMetadata() {
    }

    /**
     * The key/value metadata of {@code file}.
     *
     * @throws DataException when the file cannot be read or is not an ONNX model
     */
    public static Map<String, String> read(Path file) throws DataException {
        Map<String, String> metadata = new LinkedHashMap<>();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            while (true) {
                int tag = coded.readTag();
                if (tag == 0) {
                    break;
                }
                if (WireFormat.getTagFieldNumber(tag) == METADATA_PROPS
                        && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    StringStringEntryProto entry = StringStringEntryProto.parseFrom(coded.readBytes());
                    metadata.put(entry.getKey(), entry.getValue());
                } else {
                    coded.skipField(tag);
                }
                coded.resetSizeCounter(); // the limit guards one field, not the whole (possibly > 2 GB) file
            }
        } catch (IOException e) {
            throw new DataException(file + " is not a readable ONNX model: " + e.getMessage(), e);
        }
        return metadata;
    }
}
