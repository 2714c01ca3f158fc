package io.troupe.model.seq2seq;

import io.troupe.model.gpt.ParameterLayout;

/**
 * The parameters of a {@link Seq2SeqConfig} in one flat buffer, weights stored [in, out]. Block
 * names follow the GPT's, under {@code enc.} and {@code dec.}, so the shared
 * {@link io.troupe.model.gpt.TransformerBlocks} reads them as they are.
 *
 * <pre>
 * wte [V, C] (source, target and output projection)  enc.wpe [S, C]  dec.wpe [T, C]
 * enc.h.i.ln_1  enc.h.i.attn.c_attn [C, 3C]  enc.h.i.attn.c_proj [C, C]  enc.h.i.ln_2  enc.h.i.mlp.{c_fc, c_proj}
 * enc.ln_f
 * dec.h.i.ln_1  dec.h.i.attn.*  dec.h.i.ln_x  dec.h.i.xattn.q_proj [C, C]  dec.h.i.xattn.kv_proj [C, 2C]
 * dec.h.i.xattn.c_proj [C, C]  dec.h.i.ln_2  dec.h.i.mlp.*  dec.ln_f
 * </pre>
 */
public final class Seq2SeqLayout {
    public static final String WTE = "wte";

    private Seq2SeqLayout() {
    }

    public static ParameterLayout of(Seq2SeqConfig cfg) {
        ParameterLayout.Builder b = new ParameterLayout.Builder();
        long c = cfg.nEmbd();
        long f = cfg.nInner();
        b.add(WTE, true, cfg.vocabSize(), c);
        b.add("enc.wpe", true, cfg.maxSource(), c);
        b.add("dec.wpe", true, cfg.maxTarget(), c);
        for (int i = 0; i < cfg.encoderLayers(); i++) {
            String p = "enc.h." + i + ".";
            layerNorm(b, p + "ln_1", c);
            linear(b, p + "attn.c_attn", c, 3 * c);
            linear(b, p + "attn.c_proj", c, c);
            layerNorm(b, p + "ln_2", c);
            linear(b, p + "mlp.c_fc", c, f);
            linear(b, p + "mlp.c_proj", f, c);
        }
        layerNorm(b, "enc.ln_f", c);
        for (int i = 0; i < cfg.decoderLayers(); i++) {
            String p = "dec.h." + i + ".";
            layerNorm(b, p + "ln_1", c);
            linear(b, p + "attn.c_attn", c, 3 * c);
            linear(b, p + "attn.c_proj", c, c);
            layerNorm(b, p + "ln_x", c);
            linear(b, p + "xattn.q_proj", c, c);
            linear(b, p + "xattn.kv_proj", c, 2 * c);
            linear(b, p + "xattn.c_proj", c, c);
            layerNorm(b, p + "ln_2", c);
            linear(b, p + "mlp.c_fc", c, f);
            linear(b, p + "mlp.c_proj", f, c);
        }
        layerNorm(b, "dec.ln_f", c);
        return b.build();
    }

    private static void linear(ParameterLayout.Builder b, String prefix, long in, long out) {
        b.add(prefix + ".weight", true, in, out);
        b.add(prefix + ".bias", false, out);
    }

    private static void layerNorm(ParameterLayout.Builder b, String prefix, long c) {
        b.add(prefix + ".weight", false, c);
        b.add(prefix + ".bias", false, c);
    }
}
