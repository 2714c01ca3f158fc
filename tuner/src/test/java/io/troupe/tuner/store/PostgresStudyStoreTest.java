package io.troupe.tuner.store;

import java.time.Duration;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * The store contract on a real PostgreSQL. It runs when the system property
 * {@code troupe.test.postgres.url} (or the environment variable {@code TROUPE_TEST_POSTGRES_URL})
 * holds a JDBC URL; {@code .ci/postgres start} starts a throwaway server and prints one:
 * <pre>
 * url=$(.ci/postgres start); ./mvnw -B verify -Dtroupe.test.postgres.url="$url"; .ci/postgres stop
 * </pre>
 */
@EnabledIf("configured")
class PostgresStudyStoreTest extends StudyStoreContract {

    static String url() {
        String property = System.getProperty("troupe.test.postgres.url", "");
        return property.isBlank() ? System.getenv().getOrDefault("TROUPE_TEST_POSTGRES_URL", "") : property;
    }

    static boolean configured() {
        return !url().isBlank();
    }

    @Override
    StudyStore store() {
        return JdbcStudyStore.open(url(), Duration.ofSeconds(10));
    }
}
