package io.troupe.model.gpt;

/**
 * What a fine-tuning run trains, as {@code --freeze} and {@code --train} say it: everything,
 * everything above frozen embeddings, everything above the embeddings and the first N blocks,
 * or only the classification head (a linear probe).
 *
 * @param freezeEmbeddings wte and wpe stay fixed
 * @param frozenBlocks blocks h.0 .. h.(N-1) stay fixed (the embeddings beneath them too)
 * @param headOnly only the classification head ({@value ClassifierGraphs#HEAD_PREFIX}*) trains
 */
public record TrainingScope(boolean freezeEmbeddings, int frozenBlocks, boolean headOnly) {
    /** Full fine-tuning. */
    public static final TrainingScope ALL = new TrainingScope(false, 0, false);

    public TrainingScope {
        if (frozenBlocks < 0) {
            throw new IllegalArgumentException("the number of frozen blocks must be >= 0, got " + frozenBlocks);
        }
    }

    /**
     * Reads {@code --freeze} (null, {@code embeddings} or a block count N) and {@code --train}
     * ({@code all} or {@code head}).
     *
     * @throws IllegalArgumentException naming the bad value and the accepted ones
     */
    public static TrainingScope parse(String freeze, String train) {
        boolean head;
        if (train == null || train.equals("all")) {
            head = false;
        } else if (train.equals("head")) {
            head = true;
        } else {
            throw new IllegalArgumentException("--train must be all or head, got '" + train + "'");
        }
        if (freeze == null) {
            return new TrainingScope(false, 0, head);
        }
        if (head) {
            throw new IllegalArgumentException("--train head already freezes the whole body; drop --freeze");
        }
        if (freeze.equals("embeddings")) {
            return new TrainingScope(true, 0, false);
        }
        int n;
        try {
            n = Integer.parseInt(freeze);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--freeze must be 'embeddings' or a number of blocks N, got '"
                    + freeze + "'");
        }
        if (n < 1) {
            throw new IllegalArgumentException("--freeze N needs N >= 1 blocks, got " + n
                    + "; use --freeze embeddings to freeze only the embeddings");
        }
        return new TrainingScope(true, n, false);
    }

    /**
     * The parameters of {@code layout} (a model of shape {@code cfg}) that train under this scope.
     *
     * @throws IllegalArgumentException when more blocks are frozen than the model has, or nothing would train
     */
    public Trainable select(Backbone cfg, ParameterLayout layout) {
        if (frozenBlocks > cfg.nLayer()) {
            throw new IllegalArgumentException("cannot freeze " + frozenBlocks + " blocks: the model has "
                    + cfg.nLayer() + " (h.0 .. h." + (cfg.nLayer() - 1) + "); pass --freeze " + cfg.nLayer()
                    + " or fewer");
        }
        if (headOnly) {
            if (layout.views().stream().noneMatch(v -> v.name().startsWith(ClassifierGraphs.HEAD_PREFIX))) {
                throw new IllegalArgumentException("--train head trains a classification head, and this model has"
                        + " none; use it with --task classify");
            }
            return Trainable.of(layout, name -> name.startsWith(ClassifierGraphs.HEAD_PREFIX));
        }
        return Trainable.of(layout, name -> !frozen(cfg, name));
    }

    private boolean frozen(Backbone cfg, String name) {
        if (freezeEmbeddings && cfg.isEmbedding(name)) {
            return true;
        }
        if (name.startsWith("h.")) {
            int block = Integer.parseInt(name.substring(2, name.indexOf('.', 2)));
            return block < frozenBlocks;
        }
        return false;
    }

    /** A short description for progress output and summary.json, e.g. "embeddings + 2 blocks frozen". */
    public String describe() {
        if (headOnly) {
            return "head only (linear probe)";
        }
        if (frozenBlocks > 0) {
            return "embeddings + " + frozenBlocks + " block" + (frozenBlocks == 1 ? "" : "s") + " frozen";
        }
        return freezeEmbeddings ? "embeddings frozen" : "all parameters";
    }
}
