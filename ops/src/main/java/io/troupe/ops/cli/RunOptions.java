package io.troupe.ops.cli;

import picocli.CommandLine.Mixin;

/**
 * Every option of a training run, local or distributed: {@code troupe train} (with or without
 * {@code --workers N}) and {@code troupe coordinator} both take exactly this group, so a run is
 * described the same way wherever it runs (a test compares their options). Each command refuses
 * the few that cannot apply to it with a one-line reason.
 */
final class RunOptions {
    /** What to train: data, preset, steps, seed and key=value settings. */
    @Mixin
    TrainingOptions training;

    /** --arch gpt|bert and an encoder's --tokenizer for a text file. */
    @Mixin
    ArchOptions arch;

    /** Where the run lives and whether to continue it: --out, --resume. */
    @Mixin
    RunDirOptions runDir;

    /** --force: replace the run in the directory. */
    @Mixin
    ForceOption force;

    /** How many workers and how they exchange gradients: --workers, --min/--max-workers, --wire. */
    @Mixin
    ClusterOptions cluster;

    /** --threads per worker. */
    @Mixin
    ThreadsOption threads;

    /** --device cpu or cuda:N. */
    @Mixin
    DeviceOption device;

    /** --json: one JSON object per line on stdout. */
    @Mixin
    JsonOption json;

    /** --metrics-bind: Prometheus metrics of the run. */
    @Mixin
    MetricsOptions metrics;

    /** --tls, --insecure: authentication of a coordinator's cluster planes. */
    @Mixin
    TlsOptions tls;

    /** --sign-key: sign and verify checkpoints. */
    @Mixin
    SigningOptions signing;

    /** --dashboard: a live page of the run. */
    @Mixin
    DashboardOptions dashboard;
}
