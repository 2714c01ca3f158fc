package io.troupe.tuner.run;

import io.troupe.errors.TroupeException.Kind;
import io.troupe.tuner.TuneException;
import io.troupe.tuner.report.ResultsWriter;
import io.troupe.tuner.report.StudyResults;
import io.troupe.tuner.pruner.Pruner;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.StudyStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Reads a study's results from its store and writes its result files. */
public final class StudyReports {
    private StudyReports() {
    }

    /** The study's key in a shared store: its directory's absolute, normalised path. */
    public static String studyName(Path dir) {
        return dir.toAbsolutePath().normalize().toString();
    }

    /** The study recorded for the home's directory, or a TuneException saying there is none. */
    public static StudyInfo study(StudyStore store, StudyHome home) {
        return home.find(store).orElseThrow(() -> new TuneException(Kind.INPUT_DATA, "the store " + store.describe()
                + " holds no study for " + home.dir() + "; run troupe tune --out " + home.dir() + " first"));
    }

    /** The study's trials, sorted, with the pruner's rungs; titled by its directory. */
    public static StudyResults results(StudyStore store, StudyInfo study, Path dir) {
        SearchSpace space = SearchSpace.parse(study.space());
        List<Long> rungs = Pruner.create(study.pruner(), space, study.steps()).rungs();
        // The key may be "." (a directory's own store): the results name the directory instead.
        return new StudyResults(study.withName(studyName(dir)), store.trials(study.name()), rungs,
                store.lineage(study.name()));
    }

    /** Writes trials.csv and report.html into {@code dir}. */
    public static StudyResults write(Path dir, StudyStore store, StudyInfo study) {
        StudyResults results = results(store, study, dir);
        try {
            ResultsWriter.write(dir, results, SearchSpace.parse(study.space()));
        } catch (IOException e) {
            throw new TuneException(Kind.IO, "cannot write the study's results into " + dir + ": " + e.getMessage(), e);
        }
        return results;
    }
}
