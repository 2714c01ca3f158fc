package io.troupe.ops.cli;

import picocli.CommandLine.Command;

/**
 * {@code troupe bench}: groups the benchmarks. It does nothing by itself; picocli reports a missing
 * subcommand as a usage error. New benchmarks (e.g. {@code bench step}) go in {@code subcommands}.
 */
@Command(name = "bench",
        description = "Measure how fast this machine runs Troupe's kernels.",
        mixinStandardHelpOptions = true,
        subcommands = {BenchStepCommand.class, BenchOptimizerCommand.class, BenchGemmCommand.class, BenchTokenizeCommand.class, BenchAllreduceCommand.class, BenchDecodeCommand.class, BenchExplainCommand.class, BenchTranslateCommand.class,
            BenchServeCommand.class})
final class BenchCommand {}
