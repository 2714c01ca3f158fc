package io.troupe.ops.cli;

import io.troupe.tuner.report.StudyResults;
import io.troupe.tuner.run.StudyHome;
import io.troupe.tuner.run.StudyReports;
import io.troupe.tuner.store.JdbcStudyStore;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.StudyStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code troupe study show DIR}: the table of trials, best first, and the best configuration. */
@Command(name = "show",
        description = {"Print a study's trials, best first, and its best configuration.",
            "Also rewrites DIR/trials.csv and DIR/report.html from the store."},
        mixinStandardHelpOptions = true)
final class StudyShowCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "The study directory (troupe tune --out).")
    private Path dir;

    @Option(names = "--storage", paramLabel = "JDBC_URL", description = "The study's store, if it was not DIR/study.db.")
    private String storage;

    @Override
    public Integer call() {
        Path study = dir.toAbsolutePath().normalize();
        if (storage == null && !JdbcStudyStore.hasSqliteStore(study)) {
            throw UserError.inputData("no study in " + dir + ": it has no " + JdbcStudyStore.SQLITE_FILE
                    + " (if the study used --storage, pass the same --storage)");
        }
        StudyHome home = new StudyHome(study, storage);
        try (StudyStore store = home.open()) {
            StudyInfo info = StudyReports.study(store, home);
            StudyResults results = Files.isWritable(study) ? StudyReports.write(study, store, info)
                    : StudyReports.results(store, info, study);
            spec.commandLine().getOut().print(results.table());
            spec.commandLine().getOut().flush();
        }
        return TroupeCli.EXIT_OK;
    }
}
