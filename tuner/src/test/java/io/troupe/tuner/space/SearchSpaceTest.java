package io.troupe.tuner.space;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.tuner.TuneException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SearchSpaceTest {

    static final String SPACE = """
            preset = shakespeare-char-small
            fixed { eval_interval = 50 }
            params {
              learning_rate { type = log, min = 1e-4, max = 1e-2 }
              n_layer { type = int, min = 2, max = 6, step = 2 }
              dropout { type = float, min = 0.0, max = 0.2, grid = 2 }
              n_embd { type = choice, values = [64, 128] }
            }
            tpe { startup_trials = 4 }
            """;

    @Test
    void parsesEveryKindOfParameterInKeyOrder() {
        SearchSpace space = SearchSpace.parse(SPACE);
        assertEquals("shakespeare-char-small", space.preset());
        assertEquals("50", space.fixed().get("eval_interval"));
        // In key order, whatever the file's order.
        assertEquals(List.of(new Parameter.FloatRange("dropout", 0.0, 0.2, 2),
                new Parameter.LogRange("learning_rate", 1e-4, 1e-2, 3),
                new Parameter.Categorical("n_embd", List.of(64L, 128L)),
                new Parameter.IntRange("n_layer", 2, 6, 2)), space.params());
        assertEquals(4, space.option("tpe.startup_trials", 5));
        assertEquals(3, space.option("asha.reduction_factor", 3));
    }

    @Test
    void theCanonicalTextParsesBackToTheSameSpace() {
        SearchSpace space = SearchSpace.parse(SPACE);
        SearchSpace again = SearchSpace.parse(space.canonical());
        assertEquals(space.params(), again.params());
        assertEquals(space.canonical(), again.canonical());
        assertTrue(again.diff(space.canonical()).isEmpty());
    }

    @Test
    void diffNamesChangedAddedAndRemovedKeys() {
        SearchSpace before = SearchSpace.parse(SPACE);
        SearchSpace after = SearchSpace.parse(SPACE.replace("max = 1e-2", "max = 3e-2")
                .replace("tpe { startup_trials = 4 }", "")
                .replace("fixed { eval_interval = 50 }", "fixed { eval_interval = 50, beta2 = 0.95 }"));
        assertEquals(List.of("fixed.beta2 added (0.95)", "params.learning_rate.max: 0.01 -> 0.03",
                "tpe.startup_trials removed (was 4)"), after.diff(before.canonical()));
    }

    @Test
    void badSpacesAreRefusedWithOneLineNamingTheProblem() {
        assertError("params.learning_rate: the range [0.01, 0.001] is empty",
                "params { learning_rate { type = float, min = 1e-2, max = 1e-3 } }");
        assertError("params.n_layer: the range [4, 4] is empty", "params { n_layer { type = int, min = 4, max = 4 } }");
        assertError("params.lr is not a training key", "params { lr { type = log, min = 1e-4, max = 1e-2 } }");
        assertError("fixed.warmup is not a training key", "fixed { warmup = 3 }\nparams { dropout { type = float, min = 0, max = 0.1 } }");
        assertError("a log range must be > 0, got min = 0.0", "params { weight_decay { type = log, min = 0, max = 0.1 } }");
        assertError("a log range must be > 0, got min = -1.0", "params { weight_decay { type = log, min = -1, max = 0.1 } }");
        assertError("'params' is missing or empty", "fixed { dropout = 0.1 }");
        assertError("type must be float, log, int or choice", "params { dropout { type = normal, min = 0, max = 1 } }");
        assertError("'values' is empty", "params { n_embd { type = choice, values = [] } }");
        assertError("setting dropout = 1.5 is out of range", "params { dropout { type = float, min = 0.5, max = 1.5 } }");
        assertError("use type = int", "params { n_layer { type = float, min = 1, max = 4 } }");
        assertError("'dropout' is both fixed and a parameter", "fixed { dropout = 0.1 }\nparams { dropout { type = float, min = 0, max = 0.1 } }");
        assertError("unknown section 'param'", "param { dropout { type = float, min = 0, max = 0.1 } }");
        assertError("unknown option asha.eta", "asha { eta = 3 }\nparams { dropout { type = float, min = 0, max = 0.1 } }");
    }

    @Test
    void aMissingOrMalformedFileIsAOneLineError(@TempDir Path tmp) throws Exception {
        TuneException missing = assertThrows(TuneException.class, () -> SearchSpace.load(tmp.resolve("nope.conf")));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
        Path bad = tmp.resolve("bad.conf");
        Files.writeString(bad, "params { dropout { type = float, min = 0, max = ");
        TuneException malformed = assertThrows(TuneException.class, () -> SearchSpace.load(bad));
        assertTrue(malformed.getMessage().startsWith("search space " + bad + " is not valid HOCON"), malformed.getMessage());
    }

    @Test
    void crossKeyRulesAreLeftToTheTrial() {
        // n_embd 24 with the preset's n_head 4 is fine, 30 is not: only the sampled pair decides.
        SearchSpace space = SearchSpace.parse("params { n_embd { type = choice, values = [24, 30] } }");
        assertEquals(2, ((Parameter.Categorical) space.params().get(0)).values().size());
    }

    /** The shipped benchmark space stays valid (tests run in the module directory). */
    @Test
    void theExampleSpaceOfTheBenchmarkLoads() {
        SearchSpace space = SearchSpace.load(Path.of("../examples/tune-shakespeare-small.conf"));
        assertEquals(List.of("dropout", "learning_rate", "n_embd", "n_layer"),
                space.params().stream().map(Parameter::key).toList());
        // Wave 2: the default grace period (600 / 3^2 = 67, after the 30-step warm-up, on the eval cadence of 50).
        assertEquals(List.of(100L, 300L),
                io.troupe.tuner.pruner.Pruner.create("asha", space, 600).rungs());
        assertEquals(0.15, space.option("tpe.gamma", 0.0));
    }

    private static void assertError(String fragment, String hocon) {
        TuneException e = assertThrows(TuneException.class, () -> SearchSpace.parse(hocon));
        assertTrue(e.getMessage().contains(fragment), () -> "expected '" + fragment + "' in: " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}
