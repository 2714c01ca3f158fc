package io.troupe.worker.gradcheck;

import io.troupe.model.graph.DType;
import io.troupe.model.graph.TensorData;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A serialized model ready for a gradient check: it has a scalar float or double output
 * {@value #LOSS} and, for each checked parameter, an output {@code grad.<name>} shaped like the
 * parameter input {@code name}.
 *
 * @param model serialized ONNX model
 * @param precision the floating dtype of the parameters (and so of their gradients)
 * @param feeds values of the inputs that are not checked parameters (token ids, labels)
 * @param parameters the checked parameters with their values at the point of the check
 */
public record CheckableModel(byte[] model, DType precision, Map<String, TensorData> feeds,
                             List<Parameter> parameters) {

    /** The name of the loss output. */
    public static final String LOSS = "loss";

    public CheckableModel {
        feeds = Map.copyOf(feeds);
        parameters = List.copyOf(parameters);
        if (precision != DType.FLOAT && precision != DType.DOUBLE) {
            throw new IllegalArgumentException("parameters must be float or double, not " + precision.onnxName());
        }
    }

    /** The gradient output name for parameter {@code name}. */
    public static String gradName(String name) {
        return "grad." + name;
    }

    /**
     * A checked parameter: a graph input of the model's precision.
     *
     * @param name the input name
     * @param shape its static shape
     * @param values its values (rounded to float by the checker when the precision is float)
     */
    public record Parameter(String name, long[] shape, double[] values) {
        public Parameter {
            shape = shape.clone();
            long numel = Arrays.stream(shape).reduce(1, Math::multiplyExact);
            if (numel != values.length) {
                throw new IllegalArgumentException("parameter '" + name + "' of shape " + Arrays.toString(shape)
                        + " needs " + numel + " values, got " + values.length);
            }
            values = values.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public double[] values() {
            return values.clone();
        }
    }
}
