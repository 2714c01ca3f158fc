package io.troupe.tuner.space;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.troupe.tuner.TuneException;
import io.troupe.worker.train.SettingsException;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What a study searches over: the parameters it samples, the settings every trial shares, and
 * the sampler and pruner options. Read from a HOCON file:
 *
 * <pre>
 * preset = shakespeare-char-small        # base settings (optional; this is the default)
 * fixed { eval_interval = 100 }          # every trial; any training key
 * params {
 *   learning_rate { type = log,    min = 1e-4, max = 3e-3 }
 *   n_layer       { type = int,    min = 2,    max = 6 }          # optional step = 2
 *   dropout       { type = float,  min = 0.0,  max = 0.2, grid = 3 }
 *   n_embd        { type = choice, values = [64, 128, 192] }
 * }
 * tpe    { startup_trials = 5, candidates = 24, gamma = 0.25 }    # optional
 * asha   { reduction_factor = 3, min_resource = 100 }             # optional; max_resource, max_rungs
 * median { warmup_steps = 100, startup_trials = 3 }               # optional
 * </pre>
 *
 * <p>Parameters are kept in key order (HOCON does not keep a file's order). Every key is checked against the training keys {@link TrainSettings} accepts, and every
 * range's ends (and middle) are run through {@link TrainSettings#load}, so a range that can
 * only produce invalid settings is refused before any trial starts.
 *
 * @param canonical the file as sorted {@code path = value} lines: what a resumed study compares
 */
public record SearchSpace(String preset, Map<String, String> fixed, List<Parameter> params, Config options,
                          String canonical) {

    /** The preset used when the file names none. */
    public static final String DEFAULT_PRESET = "shakespeare-char-small";
    private static final Set<String> SECTIONS = Set.of("preset", "fixed", "params", "tpe", "asha", "median", "pbt",
            "objectives");
    private static final Map<String, Set<String>> OPTIONS = Map.of(
            "tpe", Set.of("startup_trials", "candidates", "gamma"),
            "asha", Set.of("reduction_factor", "min_resource", "max_resource", "max_rungs"),
            "median", Set.of("warmup_steps", "startup_trials"),
            "pbt", Set.of("interval", "quantile", "resample_probability"));
    private static final Set<String> PARAM_FIELDS = Set.of("type", "min", "max", "step", "grid", "values");

    public SearchSpace {
        fixed = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fixed));
        params = List.copyOf(params);
    }

    /** Reads and validates a space file; any problem is a one-line {@link TuneException} naming the file. */
    public static SearchSpace load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new TuneException("search space " + file + " does not exist or is not a file");
        }
        Config config;
        try {
            config = ConfigFactory.parseFile(file.toFile()).resolve();
        } catch (ConfigException e) {
            throw new TuneException("search space " + file + " is not valid HOCON: " + e.getMessage(), e);
        }
        return parse(config, "search space " + file);
    }

    /** Parses a space from HOCON text (the stored copy of a study's space, tests). */
    public static SearchSpace parse(String hocon) {
        try {
            return parse(ConfigFactory.parseString(hocon).resolve(), "search space");
        } catch (ConfigException e) {
            throw new TuneException("search space is not valid HOCON: " + e.getMessage(), e);
        }
    }

    private static SearchSpace parse(Config c, String where) {
        for (String section : c.root().keySet()) {
            if (!SECTIONS.contains(section)) {
                throw new TuneException(where + ": unknown section '" + section + "'; expected " + new java.util.TreeSet<>(SECTIONS));
            }
        }
        String preset = c.hasPath("preset") ? c.getString("preset") : DEFAULT_PRESET;
        Set<String> known = TrainSettings.keys();
        Map<String, String> fixed = new LinkedHashMap<>();
        if (c.hasPath("fixed")) {
            for (Map.Entry<String, ConfigValue> e : new TreeMap<>(c.getObject("fixed")).entrySet()) {
                requireKnown(where, "fixed", e.getKey(), known);
                fixed.put(e.getKey(), e.getValue().render(ConfigRenderOptions.concise()));
            }
        }
        try {
            TrainSettings.load(preset, fixed);
        } catch (SettingsException e) {
            throw new TuneException(where + ": fixed: " + e.getMessage());
        }
        if (!c.hasPath("params") || c.getObject("params").isEmpty()) {
            throw new TuneException(where + ": 'params' is missing or empty; a study needs at least one parameter to search");
        }
        List<Parameter> params = new ArrayList<>();
        // HOCON objects do not keep the file's order; sorted keys give every run the same order
        // (the grid's odometer, the columns of the table).
        for (Map.Entry<String, ConfigValue> e : new TreeMap<>(c.getObject("params")).entrySet()) {
            String key = e.getKey();
            requireKnown(where, "params", key, known);
            if (fixed.containsKey(key)) {
                throw new TuneException(where + ": '" + key + "' is both fixed and a parameter; keep one");
            }
            if (e.getValue().valueType() != ConfigValueType.OBJECT) {
                throw new TuneException(where + ": params." + key + " must be an object such as { type = float, min = 0, max = 1 }");
            }
            // The file line, so that an empty range or an unknown type in a long file is found at once.
            int line = e.getValue().origin().lineNumber();
            String at = where + (line > 0 && !where.equals("search space") ? " line " + line : "")
                    + ": params." + key;
            Parameter p = parameter(at, key, c.getConfig("params").getConfig(quote(key)));
            checkValues(at, preset, fixed, p);
            params.add(p);
        }
        for (Map.Entry<String, Set<String>> section : OPTIONS.entrySet()) {
            if (c.hasPath(section.getKey())) {
                for (String field : c.getObject(section.getKey()).keySet()) {
                    if (!section.getValue().contains(field)) {
                        throw new TuneException(where + ": unknown option " + section.getKey() + "." + field
                                + "; expected one of " + new java.util.TreeSet<>(section.getValue()));
                    }
                }
            }
        }
        if (c.hasPath("objectives")) {
            try {
                if (c.getStringList("objectives").isEmpty()) {
                    throw new TuneException(where + ": objectives is empty; list val_loss first, e.g. [val_loss, tokens_per_second]");
                }
            } catch (ConfigException e) {
                throw new TuneException(where + ": objectives must be a list of names, e.g. [val_loss, tokens_per_second]");
            }
        }
        return new SearchSpace(preset, fixed, params, c, canonical(c));
    }

    private static void requireKnown(String where, String section, String key, Set<String> known) {
        if (!known.contains(key)) {
            throw new TuneException(where + ": " + section + "." + key + " is not a training key; known keys: " + known);
        }
    }

    private static Parameter parameter(String where, String key, Config p) {
        for (String field : p.root().keySet()) {
            if (!PARAM_FIELDS.contains(field)) {
                throw new TuneException(where + ": unknown field '" + field + "'; expected " + new java.util.TreeSet<>(PARAM_FIELDS));
            }
        }
        String type = p.hasPath("type") ? p.getString("type") : "";
        try {
            switch (type) {
                case "float", "log" -> {
                    double min = p.getDouble("min");
                    double max = p.getDouble("max");
                    int grid = p.hasPath("grid") ? p.getInt("grid") : 3;
                    if (!(min < max)) {
                        throw new TuneException(where + ": the range [" + min + ", " + max + "] is empty; min must be below max"
                                + " (put a constant under 'fixed')");
                    }
                    if (type.equals("log") && min <= 0) {
                        throw new TuneException(where + ": a log range must be > 0, got min = " + min);
                    }
                    if (grid < 1) {
                        throw new TuneException(where + ": grid must be >= 1, got " + grid);
                    }
                    return type.equals("log") ? new Parameter.LogRange(key, min, max, grid)
                            : new Parameter.FloatRange(key, min, max, grid);
                }
                case "int" -> {
                    long min = p.getLong("min");
                    long max = p.getLong("max");
                    long step = p.hasPath("step") ? p.getLong("step") : 1;
                    if (!(min < max)) {
                        throw new TuneException(where + ": the range [" + min + ", " + max + "] is empty; min must be below max"
                                + " (put a constant under 'fixed')");
                    }
                    if (step < 1 || (max - min) % step != 0) {
                        throw new TuneException(where + ": step " + step + " must be >= 1 and divide max - min = " + (max - min));
                    }
                    return new Parameter.IntRange(key, min, max, step);
                }
                case "choice" -> {
                    List<Object> values = new ArrayList<>();
                    for (Object v : p.getList("values").unwrapped()) {
                        values.add(normalize(v));
                    }
                    if (values.isEmpty()) {
                        throw new TuneException(where + ": 'values' is empty; list at least one choice");
                    }
                    if (new LinkedHashSet<>(values).size() != values.size()) {
                        throw new TuneException(where + ": 'values' " + values + " lists a value twice");
                    }
                    return new Parameter.Categorical(key, values);
                }
                default -> throw new TuneException(where + ": type must be float, log, int or choice, got '" + type + "'");
            }
        } catch (ConfigException e) {
            throw new TuneException(where + ": " + e.getMessage().replaceFirst("^[^:]*: \\d+: ", ""), e);
        }
    }

    /** Integers from HOCON come back as Integer or Long; the store reads Long. Keep one type. */
    public static Object normalize(Object v) {
        if (v instanceof Integer i) {
            return i.longValue();
        }
        if (v instanceof Float f) {
            return f.doubleValue();
        }
        if (v instanceof Number || v instanceof String || v instanceof Boolean) {
            return v;
        }
        throw new TuneException("a choice must be a number, string or boolean, got " + v);
    }

    /** Runs a range's ends, middle and every choice through TrainSettings, which names what is wrong. */
    private static void checkValues(String where, String preset, Map<String, String> fixed, Parameter p) {
        List<Object> probes;
        if (p instanceof Parameter.FloatRange f) {
            probes = List.of(f.min(), f.max(), (f.min() + f.max()) / 2);
        } else if (p instanceof Parameter.LogRange l) {
            probes = List.of(l.min(), l.max(), Math.sqrt(l.min() * l.max()));
        } else if (p instanceof Parameter.IntRange i) {
            probes = List.of(i.min(), i.max());
        } else {
            probes = ((Parameter.Categorical) p).values();
        }
        for (Object value : probes) {
            Map<String, String> one = new LinkedHashMap<>(fixed);
            one.put(p.key(), Parameter.toHocon(value));
            try {
                TrainSettings.load(preset, one);
            } catch (SettingsException e) {
                String hint = e.getMessage().contains("must be an integer") ? "; use type = int" : "";
                // Cross-key rules (n_embd divisible by n_head, min_lr <= learning_rate) depend on other
                // sampled values; those fail one trial, not the whole space.
                if (!isCrossKeyRule(e.getMessage())) {
                    throw new TuneException(where + ": " + e.getMessage() + hint);
                }
            }
        }
    }

    private static boolean isCrossKeyRule(String message) {
        return message.contains("must be divisible by") || message.contains("must not exceed");
    }

    private static String quote(String key) {
        return "\"" + key + "\"";
    }

    /** The file as sorted {@code path = value} lines, comments and layout removed. */
    private static String canonical(Config c) {
        StringBuilder out = new StringBuilder();
        for (Map.Entry<String, String> e : flatten(c).entrySet()) {
            out.append(e.getKey()).append(" = ").append(e.getValue()).append('\n');
        }
        return out.toString();
    }

    private static Map<String, String> flatten(Config c) {
        Map<String, String> out = new TreeMap<>();
        for (Map.Entry<String, ConfigValue> e : c.entrySet()) {
            out.put(e.getKey(), e.getValue().render(ConfigRenderOptions.concise()));
        }
        return out;
    }

    /**
     * What changed from {@code before} (a stored canonical text) to this space, as
     * {@code path: old -> new} items; empty when the two are the same.
     */
    public List<String> diff(String before) {
        Map<String, String> old = parseCanonical(before);
        Map<String, String> now = parseCanonical(canonical);
        List<String> out = new ArrayList<>();
        Set<String> keys = new java.util.TreeSet<>(old.keySet());
        keys.addAll(now.keySet());
        for (String k : keys) {
            String a = old.get(k);
            String b = now.get(k);
            if (a == null) {
                out.add(k + " added (" + b + ")");
            } else if (b == null) {
                out.add(k + " removed (was " + a + ")");
            } else if (!a.equals(b)) {
                out.add(k + ": " + a + " -> " + b);
            }
        }
        return out;
    }

    private static Map<String, String> parseCanonical(String text) {
        Map<String, String> out = new TreeMap<>();
        for (String line : text.split("\n")) {
            int eq = line.indexOf(" = ");
            if (eq > 0) {
                out.put(line.substring(0, eq), line.substring(eq + 3));
            }
        }
        return out;
    }

    /**
     * This space with {@code objectives = [...]} set (the {@code --objective} flag), so that the
     * stored space, which a resumed study and {@code study best} read, records them.
     */
    public SearchSpace withObjectives(List<String> objectives) {
        Config c = options.withValue("objectives", com.typesafe.config.ConfigValueFactory.fromIterable(objectives));
        return parse(c, "search space");
    }

    /** The parameter setting {@code key}, if any. */
    public Parameter parameter(String key) {
        return params.stream().filter(p -> p.key().equals(key)).findFirst().orElse(null);
    }

    /** An int option from a section (e.g. {@code asha.reduction_factor}), or the default. */
    public int option(String path, int fallback) {
        return options.hasPath(path) ? options.getInt(path) : fallback;
    }

    /** A long option from a section, or the default. */
    public long option(String path, long fallback) {
        return options.hasPath(path) ? options.getLong(path) : fallback;
    }

    /** A double option from a section, or the default. */
    public double option(String path, double fallback) {
        return options.hasPath(path) ? options.getDouble(path) : fallback;
    }
}
