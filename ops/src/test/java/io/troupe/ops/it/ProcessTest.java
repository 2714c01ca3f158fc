package io.troupe.ops.it;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** An integration test that starts troupe processes in a temporary directory and kills what is left after it. */
abstract class ProcessTest {
    @TempDir
    Path dir;

    final TroupeProcesses processes = new TroupeProcesses();

    @AfterEach
    void killLeftovers() {
        processes.close();
    }
}
