package io.troupe.worker.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Where every parameter lives in one flat float buffer (llm.c's layout): the all-reduce, the
 * optimizer and checkpoints work on flat ranges, the graph sees named tensors.
 *
 * <p>Views must have distinct names, must not overlap and must lie within {@code size}; gaps are
 * allowed (e.g. for alignment padding) and stay zero.
 *
 * @param views the parameters, in the order given (the order of the graph's inputs is irrelevant)
 * @param size total number of floats in the flat buffer
 */
public record FlatLayout(List<ParamView> views, long size) {

    /**
     * The largest flat buffer a layout may describe: one direct buffer addresses at most
     * {@code Integer.MAX_VALUE} bytes, i.e. about 536 million floats.
     */
    public static final long MAX_SIZE = Integer.MAX_VALUE / Float.BYTES;

    /** @throws IllegalArgumentException for duplicate names, overlapping views or views out of range */
    public FlatLayout {
        Objects.requireNonNull(views, "views");
        views = List.copyOf(views);
        if (size < 0 || size > MAX_SIZE) {
            throw new IllegalArgumentException(
                    "layout size must be in [0, " + MAX_SIZE + "] floats, got " + size);
        }
        Set<String> names = new HashSet<>();
        for (ParamView view : views) {
            if (!names.add(view.name())) {
                throw new IllegalArgumentException("parameter '" + view.name() + "' appears twice in the layout");
            }
            if (view.end() > size) {
                throw new IllegalArgumentException(
                        "parameter " + view + " ends at " + view.end() + ", beyond the layout size " + size);
            }
        }
        List<ParamView> byOffset = new ArrayList<>(views);
        byOffset.sort(Comparator.comparingLong(ParamView::offset));
        for (int i = 1; i < byOffset.size(); i++) {
            ParamView previous = byOffset.get(i - 1);
            ParamView current = byOffset.get(i);
            if (current.offset() < previous.end()) {
                throw new IllegalArgumentException("parameters " + previous + " and " + current + " overlap");
            }
        }
    }

    /** Starts a layout that packs parameters back to back, in the order they are added. */
    public static Packer packer() {
        return new Packer();
    }

    /** The view named {@code name}. @throws IllegalArgumentException if there is none */
    public ParamView view(String name) {
        for (ParamView view : views) {
            if (view.name().equals(name)) {
                return view;
            }
        }
        throw new IllegalArgumentException("no parameter named '" + name + "' in the layout");
    }

    /** Builds a gap-free {@link FlatLayout}: each parameter starts where the previous one ends. */
    public static final class Packer {
        private final List<ParamView> views = new ArrayList<>();
        private long offset;

        private Packer() {}

        /** Appends a parameter with the given name and shape. */
        public Packer add(String name, long... shape) {
            ParamView view = new ParamView(name, offset, shape);
            views.add(view);
            offset = view.end();
            return this;
        }

        /** The layout of everything added so far; its size is the sum of the parameters' sizes. */
        public FlatLayout build() {
            return new FlatLayout(views, offset);
        }
    }
}
