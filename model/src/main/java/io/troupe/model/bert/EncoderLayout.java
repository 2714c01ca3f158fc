package io.troupe.model.bert;

import io.troupe.model.gpt.ParameterLayout;

/**
 * The parameters of an {@link EncoderConfig}, in one flat buffer. Blocks use the GPT's names
 * (the query, key and value projections fused into {@code attn.c_attn} [C, 3C], as GPT-2 does);
 * under post-LayerNorm {@code ln_1} follows the attention and {@code ln_2} the MLP, under
 * pre-LayerNorm they precede them. Weights are stored [in, out].
 *
 * <pre>
 * wte [V, C]  wpe [P, C]  wtt [types, C]  ln_emb.{weight,bias} [C]
 * h.i.attn.c_attn.{weight [C, 3C], bias [3C]}  h.i.attn.c_proj.{weight [C, C], bias [C]}  h.i.ln_1.*
 * h.i.mlp.c_fc.{weight [C, F], bias [F]}  h.i.mlp.c_proj.{weight [F, C], bias [C]}  h.i.ln_2.*
 * ln_f.* (pre-LayerNorm only)
 * mlm.dense.{weight [C, C], bias [C]}  mlm.ln_t.{weight,bias} [C]  mlm.bias [V]  (MLM head only; decoder = wte)
 * </pre>
 */
public final class EncoderLayout {
    public static final String WTE = "wte";
    public static final String WPE = "wpe";
    /** The token-type (segment) embedding. */
    public static final String WTT = "wtt";
    /** The LayerNorm over the summed embeddings. */
    public static final String LN_EMB = "ln_emb";
    /** The prefix of the MLM head's parameters. */
    public static final String MLM_PREFIX = "mlm.";

    private EncoderLayout() {
    }

    /** The layout of {@code cfg}. */
    public static ParameterLayout of(EncoderConfig cfg) {
        ParameterLayout.Builder b = new ParameterLayout.Builder();
        long v = cfg.vocabSize();
        long c = cfg.nEmbd();
        long f = cfg.nInner();
        b.add(WTE, true, v, c);
        b.add(WPE, true, cfg.blockSize(), c);
        b.add(WTT, true, cfg.typeVocabSize(), c);
        b.add(LN_EMB + ".weight", false, c);
        b.add(LN_EMB + ".bias", false, c);
        for (int i = 0; i < cfg.nLayer(); i++) {
            String p = "h." + i + ".";
            b.add(p + "attn.c_attn.weight", true, c, 3 * c);
            b.add(p + "attn.c_attn.bias", false, 3 * c);
            b.add(p + "attn.c_proj.weight", true, c, c);
            b.add(p + "attn.c_proj.bias", false, c);
            b.add(p + "ln_1.weight", false, c);
            b.add(p + "ln_1.bias", false, c);
            b.add(p + "mlp.c_fc.weight", true, c, f);
            b.add(p + "mlp.c_fc.bias", false, f);
            b.add(p + "mlp.c_proj.weight", true, f, c);
            b.add(p + "mlp.c_proj.bias", false, c);
            b.add(p + "ln_2.weight", false, c);
            b.add(p + "ln_2.bias", false, c);
        }
        if (cfg.preLayerNorm()) {
            b.add("ln_f.weight", false, c);
            b.add("ln_f.bias", false, c);
        }
        if (cfg.mlmHead()) {
            b.add(MLM_PREFIX + "dense.weight", true, c, c);
            b.add(MLM_PREFIX + "dense.bias", false, c);
            b.add(MLM_PREFIX + "ln_t.weight", false, c);
            b.add(MLM_PREFIX + "ln_t.bias", false, c);
            b.add(MLM_PREFIX + "bias", false, v);
        }
        return b.build();
    }
}
