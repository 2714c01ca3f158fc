package io.troupe.tuner.run;

import io.troupe.errors.TroupeException.Kind;
import io.troupe.tuner.TuneException;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.StudyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Starting a new study, or checking that a resumed one is the same study. */
public final class Studies {
    private Studies() {
    }

    /**
     * Records a new study, or checks a resumed one against what the store holds.
     *
     * <p>A resume must keep everything that shapes the trials: the search space (refused with
     * a diff), data, sampler, pruner, seed, steps and workers per trial. It may raise or lower
     * the total number of trials and the number of workers. The data is the same when its
     * SHA-256 is (when both are known; else its path must be): a study moved or copied may
     * point at its data's new place, which is then recorded, as is a fingerprint the study lacked.
     *
     * @throws TuneException naming what differs and what to do
     */
    public static StudyInfo begin(StudyStore store, StudyInfo requested, SearchSpace space, boolean resume) {
        Optional<StudyInfo> existing = store.study(requested.name());
        if (!resume) {
            if (existing.isPresent()) {
                throw new TuneException(Kind.INPUT_DATA, requested.name() + " already holds a study (store " + store.describe()
                        + "); pass --resume to continue it, --force to start it over, or choose another --out");
            }
            store.createStudy(requested);
            return requested;
        }
        if (existing.isEmpty()) {
            throw new TuneException(Kind.INPUT_DATA, "nothing to resume: the store " + store.describe() + " holds no study for "
                    + requested.name() + "; drop --resume to start one");
        }
        StudyInfo old = existing.get();
        List<String> diff = space.diff(old.space());
        if (!diff.isEmpty()) {
            throw new TuneException("the search space changed since the study started, so it cannot be resumed: "
                    + String.join("; ", diff) + ". Restore the original space or start a new study in another --out");
        }
        List<String> changed = new ArrayList<>();
        if (old.dataSha256() != null && requested.dataSha256() != null) {
            same(changed, "--data (its SHA-256)", old.dataSha256(), requested.dataSha256());
        } else if (requested.dataSha256() == null) {
            same(changed, "--data", old.data(), requested.data());
        }
        // else: a study from before fingerprints were kept cannot check its data; it records the
        // fingerprint of the data it resumes with, and is checked from then on.
        same(changed, "--sampler", old.sampler(), requested.sampler());
        same(changed, "--pruner", old.pruner(), requested.pruner());
        same(changed, "--seed", old.seed(), requested.seed());
        same(changed, "--steps", old.steps(), requested.steps());
        same(changed, "--workers-per-trial", old.workersPerTrial(), requested.workersPerTrial());
        if (!changed.isEmpty()) {
            throw new TuneException(Kind.USAGE, "a resumed study must keep its settings: " + String.join("; ", changed)
                    + ". Drop those options to keep the study's own");
        }
        if (old.trials() != requested.trials()) {
            store.setTrials(old.name(), requested.trials());
        }
        StudyInfo resumed = old.withTrials(requested.trials());
        if (requested.dataSha256() != null
                && (!old.data().equals(requested.data()) || !requested.dataSha256().equals(old.dataSha256()))) {
            store.setData(old.name(), requested.data(), requested.dataSha256());
            resumed = resumed.withData(requested.data(), requested.dataSha256());
        }
        return resumed;
    }

    private static void same(List<String> changed, String option, Object before, Object now) {
        if (!String.valueOf(before).equals(String.valueOf(now))) {
            changed.add(option + " is " + now + " but the study started with " + before);
        }
    }
}
