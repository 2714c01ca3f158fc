package io.troupe.tuner.store;

import java.util.List;
import java.util.Optional;

/**
 * Where a study's trials, parameters, intermediate values and states persist, so that a
 * study survives the process that runs it. Implementations are safe to call from the threads
 * of several trials at once. Every failure is a {@link StoreException} with a one-line message.
 */
public interface StudyStore extends AutoCloseable {

    /** The study with this name, if the store holds it. */
    Optional<StudyInfo> study(String name);

    /** The name of every study the store holds. */
    List<String> studies();

    /** Records a new study; refuses a name that already exists. */
    void createStudy(StudyInfo study);

    /** Raises or lowers the study's total trial count (a resume with another --trials). */
    void setTrials(String study, int trials);

    /** Points the study at its data's new path (a moved study), or records its data's fingerprint. */
    void setData(String study, String data, String dataSha256);

    /** Removes the study, its trials and their values (a study started over); nothing if absent. */
    void deleteStudy(String study);

    /**
     * Records a new RUNNING trial with its parameters, started now. A trial that exists already
     * (restarted) keeps its number, parameters and values; only its state and start time change.
     */
    void startTrial(String study, int number, java.util.Map<String, Object> params);

    /** Forgets a trial's reported values: it starts again from step 0 (a FAILED trial run again). */
    void clearValues(String study, int number);

    /** Records a trial's val loss at a step (replacing an earlier report at that step). */
    void report(String study, int number, long step, double value);

    /**
     * Records secondary metrics of a trial by name (e.g. {@code pct_stereotype} from a bias audit of
     * its exported model), replacing earlier values of the same names. They never affect the
     * objective or which trial is best; a trial run again from scratch loses them.
     */
    void setMetrics(String study, int number, java.util.Map<String, Double> metrics);

    /** Records a trial's final state, objective and reason, and updates the study's best trial. */
    void finishTrial(String study, int number, TrialState state, double value, String reason);

    /**
     * Replaces a trial's parameters (a PBT member that copied another and perturbed its settings).
     * Stores that cannot run PBT need not support it.
     */
    default void setParams(String study, int number, java.util.Map<String, Object> params) {
        throw new UnsupportedOperationException("this store cannot record parameter changes");
    }

    /** Records one PBT exploit step: the trial's new parent and parameters from {@code step} on. */
    default void addLineage(String study, LineageEvent event) {
        throw new UnsupportedOperationException("this store cannot record a PBT lineage");
    }

    /** Every PBT exploit step of the study, in order of step then trial; empty for other studies. */
    default List<LineageEvent> lineage(String study) {
        return List.of();
    }

    /** Every trial of the study with its intermediate values, by number. */
    List<TrialRecord> trials(String study);

    /** The number of the best COMPLETE trial, if any. */
    Optional<Integer> bestTrial(String study);

    /** A short description for messages: the file or the URL without credentials. */
    String describe();

    @Override
    void close();
}
