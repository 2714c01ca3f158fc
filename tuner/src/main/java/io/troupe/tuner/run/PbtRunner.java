package io.troupe.tuner.run;

import io.troupe.errors.TroupeException.Kind;
import io.troupe.tuner.TuneException;
import io.troupe.tuner.sampler.Sampler;
import io.troupe.tuner.space.Parameter;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.LineageEvent;
import io.troupe.tuner.store.StoreException;
import io.troupe.tuner.store.StudyStore;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntConsumer;

/**
 * Population-based training (Jaderberg et al., 2017): {@code population} trials train together,
 * in generations of {@code interval} steps. After each generation the members are ranked by the
 * val loss they reported at its last step; each member of the bottom {@code quantile} copies the
 * weights and optimizer state of a random member of the top {@code quantile}
 * ({@link TrialExecutor#transfer}, the checkpoint an elastic join ships), takes its settings, and
 * perturbs them: every numeric parameter that does not shape the model is multiplied by 0.8 or
 * 1.2 (clamped to its range), or with {@code resampleProbability} drawn again from its prior;
 * parameters that shape the model (layers, width, ...) are copied as they are, since the copied
 * weights must fit. Every copy is recorded in the store ({@link LineageEvent}) and the member's
 * parameters there become its new ones.
 *
 * <p>Members take turns on the study's slots: a generation runs every member from its checkpoint
 * to the generation's last step, so a population larger than the slots needs no more workers,
 * only more checkpoint loads. Every member trains every step, so the study trains
 * {@code population * steps} steps, as many as a random search of as many full trials.
 */
public final class PbtRunner {
    /** Keys whose change would change the parameter buffer: copied from the parent, never perturbed. */
    static final Set<String> SHAPE_KEYS = Set.of("n_layer", "n_head", "n_embd", "block_size", "bias", "tied_embeddings");

    private final String study;
    private final Path dir;
    private final SearchSpace space;
    private final Sampler sampler;
    private final StudyStore store;
    private final TrialExecutor executor;
    private final long steps;
    private final int population;
    private final long interval;
    private final double quantile;
    private final double resampleProbability;
    private final long seed;
    private final Random random;
    private final StudyListener listener;
    private int slots = 1;
    private volatile boolean stopping;

    /**
     * @param population members (>= 2)
     * @param seed the seed of the exploit/explore choices
     * @throws TuneException if the population is below 2 or the pbt options are out of range
     */
    public PbtRunner(String study, Path dir, SearchSpace space, Sampler sampler, StudyStore store, TrialExecutor executor,
                     long steps, int population, long seed, StudyListener listener) {
        if (population < 2) {
            throw new TuneException(Kind.USAGE, "population-based training needs a population of at least 2, got "
                    + population + ": a member copies from a better one; pass --trials 2 or more");
        }
        long eval = io.troupe.tuner.pruner.Pruner.evalInterval(space, steps);
        long wanted = space.option("pbt.interval", Math.max(eval, steps / 6));
        this.interval = (wanted + eval - 1) / eval * eval;
        this.quantile = space.option("pbt.quantile", 0.25);
        this.resampleProbability = space.option("pbt.resample_probability", 0.25);
        if (interval < 1 || interval >= steps || !(quantile > 0 && quantile <= 0.5)
                || !(resampleProbability >= 0 && resampleProbability <= 1)) {
            throw new TuneException(Kind.CONFIG, "pbt options: interval must be >= 1 and below --steps " + steps
                    + " (it is rounded up to eval_interval " + eval + "), quantile in (0, 0.5], resample_probability in"
                    + " [0, 1]; got " + interval + ", " + quantile + ", " + resampleProbability
                    + (interval >= steps ? "; pass a --steps above " + interval + ", or set a lower fixed.eval_interval"
                    + " and pbt.interval in the space" : "; fix the pbt block of the space"));
        }
        this.study = study;
        this.dir = dir;
        this.space = space;
        this.sampler = sampler;
        this.store = store;
        this.executor = executor;
        this.steps = steps;
        this.population = population;
        this.seed = seed;
        this.random = new Random(seed ^ 0x5eed_0f_9b7L);
        this.listener = listener;
    }

    /**
     * Trains up to {@code slots} members' segments of a generation at once (one local worker
     * each); the exploit round still waits for the whole generation. Every member trains from its
     * own checkpoint with its own seed, so a study's values and copies are the same whatever the
     * slots, given the same threads per worker (a trial's losses can differ in the third decimal
     * between 1 and 2 ONNX Runtime threads).
     *
     * @return this runner
     */
    public PbtRunner withSlots(int slots) {
        if (slots < 1) {
            throw new IllegalArgumentException("slots must be >= 1, got " + slots);
        }
        this.slots = slots;
        return this;
    }

    /** Asks a running {@link #run} to stop after the current member's segment. */
    public void requestStop() {
        stopping = true;
    }

    /** Whether {@link #requestStop} was called. */
    public boolean stopRequested() {
        return stopping;
    }

    /** Steps between exploit rounds (on the evaluation cadence). */
    public long interval() {
        return interval;
    }

    /**
     * Trains the population to the end, or, if the store holds this study's members already, from
     * where an interrupted run left it: every member resumes from its checkpoint at the last
     * generation boundary its evaluations reached, members already at the current boundary wait
     * for the others, and an exploit round whose next generation had not started is done again.
     * Redoing it is safe and gives the same copies: it ranks by the stored values at its step,
     * copies donors that have not trained since, and draws from a generator seeded by the study's
     * seed and the step alone, so an interrupted study ends as an uninterrupted one would.
     *
     * @throws TuneException if the store holds another number of members than the population
     */
    public int run() throws InterruptedException {
        List<TrialRecord> stored = store.trials(study);
        Map<Integer, Map<String, Object>> params = new TreeMap<>();
        Map<Integer, String> failed = new ConcurrentSkipListMap<>(); // written by segments
        Map<Integer, Long> reached = new TreeMap<>();
        if (stored.isEmpty()) {
            for (int n = 0; n < population; n++) {
                Map<String, Object> p = sampler.sample(n, List.of());
                params.put(n, p);
                store.startTrial(study, n, p);
                reached.put(n, 0L);
            }
        } else {
            if (stored.size() != population) {
                throw new TuneException(Kind.USAGE, "the population-based study holds " + stored.size()
                        + " members, not --trials " + population + "; resume it with its own --trials, or start it"
                        + " over with --force");
            }
            for (TrialRecord t : stored) {
                params.put(t.number(), t.params());
                if (t.state() == TrialState.FAILED) {
                    failed.put(t.number(), t.reason());
                }
                reached.put(t.number(), boundary(t.intermediate().isEmpty() ? 0 : t.intermediate().lastKey()));
            }
        }
        for (long from = 0; from < steps && !stopping; from += interval) {
            long until = Math.min(steps, from + interval);
            List<Integer> due = new ArrayList<>();
            for (int n = 0; n < population; n++) {
                if (!failed.containsKey(n) && reached.get(n) < until) {
                    due.add(n);
                }
            }
            boolean resumed = from > 0;
            trainSegments(due, n -> {
                listener.onTrialStart(n, params.get(n), resumed);
                try {
                    TrainSettings settings = TrialSettings.of(space, params.get(n), steps);
                    executor.run(new TrialJob(n, settings, StudyRunner.trialDir(dir, n), resumed), new Segment(n, until));
                } catch (StoreException e) {
                    throw e;
                } catch (Exception | OutOfMemoryError e) {
                    if (stopping) {
                        // Ctrl-C tears the process down under a member that is starting (ONNX Runtime's
                        // logger goes first): it stays RUNNING, resumable from its last checkpoint.
                        return;
                    }
                    failed.put(n, oneLine(e));
                    finish(n, TrialState.FAILED, failed.get(n));
                }
            });
            if (until < steps && !stopping && !nextGenerationStarted(until, failed.keySet())) {
                exploit(until, params, failed.keySet());
            }
        }
        if (stopping) {
            return population;
        }
        for (int n = 0; n < population; n++) {
            if (!failed.containsKey(n)) {
                finish(n, TrialState.COMPLETE, null);
                try {
                    executor.trialEnded(new TrialJob(n, null, StudyRunner.trialDir(dir, n), false));
                } catch (java.io.IOException e) {
                    // Disk space only.
                }
            }
        }
        return population;
    }

    /**
     * Runs {@code segment} for each member of {@code due}, in order on this thread with one slot,
     * else on up to {@link #slots} threads at once; returns when all are done. Members not started
     * when a stop is requested are skipped. A store failure ends the study (after the running
     * segments end).
     */
    private void trainSegments(List<Integer> due, IntConsumer segment) throws InterruptedException {
        if (slots == 1 || due.size() <= 1) {
            for (int n : due) {
                if (stopping) {
                    return;
                }
                segment.accept(n);
            }
            return;
        }
        ExecutorService pool = Executors.newFixedThreadPool(
                Math.min(slots, due.size()), r -> {
                    Thread t = new Thread(r, "pbt-member");
                    t.setDaemon(true);
                    return t;
                });
        try {
            List<Future<?>> running = new ArrayList<>();
            for (int n : due) {
                running.add(pool.submit(() -> {
                    if (!stopping) {
                        segment.accept(n);
                    }
                }));
            }
            RuntimeException first = null;
            for (Future<?> f : running) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    if (first == null) {
                        first = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
                    }
                }
            }
            if (first != null) {
                throw first;
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** The generation boundary a member whose last evaluation was at {@code lastStep} has its checkpoint at. */
    private long boundary(long lastStep) {
        return lastStep >= steps ? steps : lastStep / interval * interval;
    }

    /** Whether a member has reported past {@code step}: then the exploit round at {@code step} was complete. */
    private boolean nextGenerationStarted(long step, Set<Integer> failed) {
        for (TrialRecord t : store.trials(study)) {
            if (!failed.contains(t.number()) && !t.intermediate().isEmpty() && t.intermediate().lastKey() > step) {
                return true;
            }
        }
        return false;
    }

    /** Ranks the members at {@code step}; the bottom quantile copies a top member and explores. */
    private void exploit(long step, Map<Integer, Map<String, Object>> params, Set<Integer> failed) {
        Map<Integer, Double> at = new TreeMap<>();
        for (TrialRecord t : store.trials(study)) {
            Double v = t.intermediate().get(step);
            if (!failed.contains(t.number()) && v != null && Double.isFinite(v)) {
                at.put(t.number(), v);
            }
        }
        List<Integer> ranked = new ArrayList<>(at.keySet());
        ranked.sort(Comparator.comparingDouble((Integer n) -> at.get(n)).thenComparingInt(n -> n));
        // Seeded by the step alone: a round done again after an interruption draws what it drew before.
        random.setSeed(seed ^ 0x5eed_0f_9b7L ^ (step * 0x9E37_79B9_7F4A_7C15L));
        int k = Math.max(1, (int) Math.floor(ranked.size() * quantile));
        if (ranked.size() < 2) {
            return;
        }
        k = Math.min(k, ranked.size() / 2);
        List<Integer> top = ranked.subList(0, k);
        List<Integer> bottom = ranked.subList(ranked.size() - k, ranked.size());
        for (int n : bottom) {
            int parent = top.get(random.nextInt(top.size()));
            Map<String, Object> next = explore(params.get(parent));
            TrainSettings from = TrialSettings.of(space, params.get(parent), steps);
            TrainSettings to = TrialSettings.of(space, next, steps);
            try {
                executor.transfer(new TrialJob(parent, from, StudyRunner.trialDir(dir, parent), true),
                        new TrialJob(n, to, StudyRunner.trialDir(dir, n), true));
            } catch (Exception e) {
                throw new TuneException(Kind.IO, "PBT: trial " + n + " cannot copy trial " + parent + "'s state at step "
                        + step + ": " + oneLine(e), e);
            }
            params.put(n, next);
            store.setParams(study, n, next);
            store.addLineage(study, new LineageEvent(n, step, parent, next));
        }
    }

    /** The parent's settings, perturbed: x0.8 or x1.2, or resampled; shape keys copied. */
    Map<String, Object> explore(Map<String, Object> parent) {
        Map<String, Object> out = new LinkedHashMap<>(parent);
        for (Parameter p : space.params()) {
            if (SHAPE_KEYS.contains(p.key()) || !parent.containsKey(p.key())) {
                continue;
            }
            if (random.nextDouble() < resampleProbability) {
                out.put(p.key(), p.sample(random));
                continue;
            }
            double factor = random.nextBoolean() ? 1.2 : 0.8;
            Object v = parent.get(p.key());
            double x = v instanceof Number num ? num.doubleValue() : Double.NaN;
            if (p instanceof Parameter.FloatRange f) {
                out.put(p.key(), clamp(x * factor, f.min(), f.max()));
            } else if (p instanceof Parameter.LogRange l) {
                out.put(p.key(), clamp(x * factor, l.min(), l.max()));
            } else if (p instanceof Parameter.IntRange i) {
                long scaled = Math.round(x * factor);
                long stepped = i.min() + Math.round((double) (scaled - i.min()) / i.step()) * i.step();
                out.put(p.key(), Math.max(i.min(), Math.min(i.max(), stepped)));
            }
            // A categorical is kept unless resampled.
        }
        return out;
    }

    private static double clamp(double v, double lo, double hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    private void finish(int n, TrialState state, String reason) {
        TrialRecord t = store.trials(study).stream().filter(r -> r.number() == n).findFirst().orElseThrow();
        double value = t.intermediate().tailMap(1L).values().stream().mapToDouble(Double::doubleValue)
                .filter(Double::isFinite).min().orElse(Double.NaN);
        store.finishTrial(study, n, state, value, reason);
        listener.onTrialEnd(store.trials(study).stream().filter(r -> r.number() == n).findFirst().orElseThrow());
    }

    private static String oneLine(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /** One member's segment: records its evaluations and stops it at the generation's last step. */
    private final class Segment implements TrainListener {
        private final int number;
        private final long until;
        private volatile long last;

        Segment(int number, long until) {
            this.number = number;
            this.until = until;
        }

        @Override
        public void onEval(long step, double trainLoss, double valLoss) {
            store.report(study, number, step, valLoss);
        }

        @Override
        public void onStep(StepStats stats) {
            last = stats.step();
        }

        @Override
        public boolean stopRequested() {
            return last >= until || stopping;
        }
    }

    /** For tests: the intermediate values of a member. */
    NavigableMap<Long, Double> values(int n) {
        return store.trials(study).stream().filter(r -> r.number() == n).findFirst().orElseThrow().intermediate();
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "PBT of %d members, exploit every %d steps, quantile %.2f", population,
                interval, quantile);
    }
}
