package io.troupe.model.bert;

/**
 * A pretrained encoder brought into Troupe: its shape and its flat parameters, laid out as
 * {@link EncoderLayout#of} {@code config}.
 *
 * @param source where it came from, for messages and run summaries (e.g. {@code onnx:model.onnx})
 */
public record ImportedEncoder(EncoderConfig config, float[] parameters, String source) {
    public ImportedEncoder {
        if (parameters.length != config.layout().size()) {
            throw new IllegalArgumentException("expected " + config.layout().size() + " parameters, got "
                    + parameters.length);
        }
    }
}
