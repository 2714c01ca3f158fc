package io.troupe.model.gpt;

import io.troupe.model.graph.Tensor;

/** Changes what a GPT linear layer returns (LoRA adds its low-rank path); the identity by default. */
public interface LinearAdapter {
    /**
     * @param prefix the layer's parameter prefix, e.g. {@code h.0.attn.c_attn}
     * @param x the layer's input [B, T, in]
     * @param y the layer's output x W + b [B, T, out]
     * @return the output to use instead [B, T, out]
     */
    Tensor adapt(String prefix, Tensor x, Tensor y);

    /** No adaptation. */
    LinearAdapter NONE = (prefix, x, y) -> y;
}
