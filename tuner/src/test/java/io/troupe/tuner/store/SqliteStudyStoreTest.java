package io.troupe.tuner.store;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store contract on SQLite, plus SQLite's own failure modes. */
class SqliteStudyStoreTest extends StudyStoreContract {
    @TempDir
    Path dir;

    @Override
    StudyStore store() {
        return JdbcStudyStore.sqlite(dir);
    }

    @Test
    void aStoreLockedByAnotherWriterIsAOneLineError() throws Exception {
        JdbcStudyStore store = JdbcStudyStore.open("jdbc:sqlite:" + dir.resolve("study.db"), Duration.ofMillis(300));
        String name = uniqueName();
        store.createStudy(study(name));
        store.startTrial(name, 0, Map.of("dropout", 0.1));
        try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("study.db"));
             Statement s = other.createStatement()) {
            s.execute("BEGIN EXCLUSIVE");
            StoreException e = assertThrows(StoreException.class, () -> store.report(name, 0, 10, 2.0));
            assertTrue(e.getMessage().startsWith("the study store jdbc:sqlite:" + dir.resolve("study.db")
                    + " is locked by another process"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
            s.execute("ROLLBACK");
        }
        store.report(name, 0, 10, 2.0);
    }

    @Test
    void aFileThatIsNotADatabaseOrAnUnknownUrlIsAOneLineError() throws Exception {
        Files.writeString(dir.resolve("study.db"), "this is not a database, just text that is long enough ".repeat(40));
        StoreException notDb = assertThrows(StoreException.class, () -> JdbcStudyStore.sqlite(dir));
        assertTrue(notDb.getMessage().contains("is not a SQLite database"), notDb.getMessage());
        StoreException url = assertThrows(StoreException.class,
                () -> JdbcStudyStore.open("jdbc:mysql://localhost/x?password=secret", Duration.ofSeconds(1)));
        assertTrue(url.getMessage().startsWith("--storage must be jdbc:sqlite:FILE or jdbc:postgresql://"), url.getMessage());
        assertFalse(url.getMessage().contains("secret"), "the password stays out of messages");
    }

    @Test
    void anUnreachablePostgresIsAOneLineError() {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        StoreException e = assertThrows(StoreException.class,
                () -> JdbcStudyStore.open("jdbc:postgresql://127.0.0.1:1/troupe?user=u&password=secret", Duration.ofSeconds(1)));
        assertTrue(e.getMessage().startsWith("cannot reach the study store jdbc:postgresql://127.0.0.1:1/troupe"), e.getMessage());
        assertFalse(e.getMessage().contains("secret"));
        assertFalse(e.getMessage().contains("\n"));
    }
}
