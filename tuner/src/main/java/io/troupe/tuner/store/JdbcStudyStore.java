package io.troupe.tuner.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.errors.TroupeException.Kind;
import io.troupe.tuner.space.SearchSpace;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The study store over JDBC, on SQLite (the default: one file, no server) or PostgreSQL (a
 * shared server, {@code --storage jdbc:postgresql://...}). Both run the same SQL: plain types
 * (TEXT, BIGINT, INTEGER, DOUBLE PRECISION) and {@code INSERT ... ON CONFLICT DO UPDATE},
 * which SQLite (3.24+) and PostgreSQL (9.5+) both understand.
 *
 * <p>Every call opens its own connection and closes it. A connection costs well under a
 * millisecond on SQLite and a few on a local PostgreSQL, and trials report once per evaluation,
 * so a pool would buy nothing; in exchange no connection is shared between trial threads.
 * SQLite runs in WAL mode (readers never wait for the writer) with a busy timeout, so trials
 * that report at the same moment queue instead of failing.
 */
public final class JdbcStudyStore implements StudyStore {
    /** The default SQLite file in a study directory. */
    public static final String SQLITE_FILE = "study.db";
    /** How long a write waits for another writer before the store counts as locked. */
    public static final Duration DEFAULT_BUSY_TIMEOUT = Duration.ofSeconds(30);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> SCHEMA = List.of(
            "CREATE TABLE IF NOT EXISTS troupe_studies (name VARCHAR(2000) PRIMARY KEY, space TEXT NOT NULL,"
                    + " data TEXT NOT NULL, sampler VARCHAR(32) NOT NULL, scheduler VARCHAR(32) NOT NULL,"
                    + " seed BIGINT NOT NULL, trials INTEGER NOT NULL, workers_per_trial INTEGER NOT NULL,"
                    + " steps BIGINT NOT NULL, created_at BIGINT NOT NULL, best_trial INTEGER)",
            "CREATE TABLE IF NOT EXISTS troupe_trials (study VARCHAR(2000) NOT NULL, number INTEGER NOT NULL,"
                    + " state VARCHAR(16) NOT NULL, params TEXT NOT NULL, value DOUBLE PRECISION, reason TEXT,"
                    + " started_at BIGINT NOT NULL, finished_at BIGINT, PRIMARY KEY (study, number))",
            "CREATE TABLE IF NOT EXISTS troupe_trial_values (study VARCHAR(2000) NOT NULL, number INTEGER NOT NULL,"
                    + " step BIGINT NOT NULL, value DOUBLE PRECISION, reported_at BIGINT NOT NULL,"
                    + " PRIMARY KEY (study, number, step))",
            // Secondary metrics of a trial (e.g. a bias audit's pct_stereotype), by name. Added after
            // the first release: IF NOT EXISTS gives an older store the table when it is opened.
            "CREATE TABLE IF NOT EXISTS troupe_trial_metrics (study VARCHAR(2000) NOT NULL, number INTEGER NOT NULL,"
                    + " name VARCHAR(200) NOT NULL, value DOUBLE PRECISION, PRIMARY KEY (study, number, name))",
            // Population-based training's exploit steps (wave 2); IF NOT EXISTS upgrades an older store.
            "CREATE TABLE IF NOT EXISTS troupe_trial_lineage (study VARCHAR(2000) NOT NULL, number INTEGER NOT NULL,"
                    + " step BIGINT NOT NULL, parent INTEGER NOT NULL, params TEXT NOT NULL,"
                    + " PRIMARY KEY (study, number, step))");
    /** Added after the first release: a store written before gets it on open (see {@link #migrate}). */
    private static final String DATA_SHA256 = "data_sha256";

    private final String url;
    private final boolean sqlite;
    private final Duration busyTimeout;

    private JdbcStudyStore(String url, Duration busyTimeout) {
        this.url = url;
        this.sqlite = url.startsWith("jdbc:sqlite:");
        this.busyTimeout = busyTimeout;
    }

    /** The SQLite store in a study directory. */
    public static JdbcStudyStore sqlite(Path dir) {
        return open("jdbc:sqlite:" + dir.toAbsolutePath().resolve(SQLITE_FILE), DEFAULT_BUSY_TIMEOUT);
    }

    /**
     * Opens (and if needed creates the tables of) the store at a JDBC URL:
     * {@code jdbc:sqlite:FILE} or {@code jdbc:postgresql://HOST:PORT/DB?user=...}.
     *
     * @throws StoreException if the URL is of another kind, or the store is unreachable or locked
     */
    public static JdbcStudyStore open(String url, Duration busyTimeout) {
        if (!url.startsWith("jdbc:sqlite:") && !url.startsWith("jdbc:postgresql:")) {
            throw new StoreException(Kind.USAGE, "--storage must be jdbc:sqlite:FILE or jdbc:postgresql://HOST:PORT/DB, got '"
                    + redact(url) + "'", null);
        }
        JdbcStudyStore store = new JdbcStudyStore(url, busyTimeout);
        if (store.sqlite) {
            // WAL lets trials read while another writes; it is a property of the file, and SQLite
            // only switches to it outside a transaction.
            try (Connection c = store.connect(); Statement s = c.createStatement()) {
                s.execute("PRAGMA journal_mode=WAL");
            } catch (SQLException e) {
                throw store.translate(e);
            }
        }
        store.transaction(c -> {
            try (Statement s = c.createStatement()) {
                for (String ddl : SCHEMA) {
                    s.execute(ddl);
                }
            }
            migrate(c, store.sqlite);
            return null;
        });
        return store;
    }

    /**
     * Brings a store written by an older Troupe up to this schema. Columns are only ever added
     * (old names, such as {@code scheduler} for the pruner, are kept), so an older study opens
     * and resumes; its new columns are NULL until a resume fills them.
     */
    private static void migrate(Connection c, boolean sqlite) throws SQLException {
        boolean hasHash;
        try (ResultSet r = c.getMetaData().getColumns(null, null, "troupe_studies", DATA_SHA256)) {
            hasHash = r.next();
        }
        if (hasHash) {
            return;
        }
        // Two processes may open an old store at once: PostgreSQL skips a column that exists;
        // SQLite has no IF NOT EXISTS here, so the second one's "duplicate column" is expected.
        try (Statement s = c.createStatement()) {
            s.execute("ALTER TABLE troupe_studies ADD COLUMN " + (sqlite ? "" : "IF NOT EXISTS ") + DATA_SHA256
                    + " VARCHAR(64)");
        } catch (SQLException e) {
            if (!sqlite || !String.valueOf(e.getMessage()).contains("duplicate column")) {
                throw e;
            }
        }
    }

    @Override
    public String describe() {
        return redact(url);
    }

    /** The URL without its query (which may hold a password) or user info. */
    static String redact(String url) {
        return url.replaceFirst("\\?.*$", "").replaceFirst("//[^/@]*@", "//");
    }

    @Override
    public Optional<StudyInfo> study(String name) {
        return transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT name, space, data, sampler, scheduler, seed, trials,"
                    + " workers_per_trial, steps, created_at, data_sha256 FROM troupe_studies WHERE name = ?")) {
                s.setString(1, name);
                try (ResultSet r = s.executeQuery()) {
                    if (!r.next()) {
                        return Optional.empty();
                    }
                    return Optional.of(new StudyInfo(r.getString(1), r.getString(2), r.getString(3), r.getString(4),
                            r.getString(5), r.getLong(6), r.getInt(7), r.getInt(8), r.getLong(9), r.getLong(10), r.getString(11)));
                }
            }
        });
    }

    @Override
    public void createStudy(StudyInfo study) {
        transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO troupe_studies (name, space, data, sampler,"
                    + " scheduler, seed, trials, workers_per_trial, steps, created_at, data_sha256) VALUES (?,?,?,?,?,?,?,?,?,?,?)")) {
                s.setString(1, study.name());
                s.setString(2, study.space());
                s.setString(3, study.data());
                s.setString(4, study.sampler());
                s.setString(5, study.pruner());
                s.setLong(6, study.seed());
                s.setInt(7, study.trials());
                s.setInt(8, study.workersPerTrial());
                s.setLong(9, study.steps());
                s.setLong(10, study.createdAt());
                s.setString(11, study.dataSha256());
                s.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public List<String> studies() {
        return transaction(c -> {
            List<String> names = new ArrayList<>();
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT name FROM troupe_studies ORDER BY name")) {
                while (r.next()) {
                    names.add(r.getString(1));
                }
            }
            return names;
        });
    }

    @Override
    public void setData(String study, String data, String dataSha256) {
        transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("UPDATE troupe_studies SET data = ?, data_sha256 = ? WHERE name = ?")) {
                s.setString(1, data);
                s.setString(2, dataSha256);
                s.setString(3, study);
                s.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public void deleteStudy(String study) {
        transaction(c -> {
            for (String sql : List.of("DELETE FROM troupe_trial_values WHERE study = ?",
                    "DELETE FROM troupe_trial_metrics WHERE study = ?", "DELETE FROM troupe_trial_lineage WHERE study = ?",
                    "DELETE FROM troupe_trials WHERE study = ?",
                    "DELETE FROM troupe_studies WHERE name = ?")) {
                try (PreparedStatement s = c.prepareStatement(sql)) {
                    s.setString(1, study);
                    s.executeUpdate();
                }
            }
            return null;
        });
    }

    @Override
    public void clearValues(String study, int number) {
        transaction(c -> {
            for (String sql : List.of("DELETE FROM troupe_trial_values WHERE study = ? AND number = ?",
                    "DELETE FROM troupe_trial_metrics WHERE study = ? AND number = ?")) {
                try (PreparedStatement s = c.prepareStatement(sql)) {
                    s.setString(1, study);
                    s.setInt(2, number);
                    s.executeUpdate();
                }
            }
            return null;
        });
    }

    @Override
    public void setTrials(String study, int trials) {
        transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("UPDATE troupe_studies SET trials = ? WHERE name = ?")) {
                s.setInt(1, trials);
                s.setString(2, study);
                s.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public void startTrial(String study, int number, Map<String, Object> params) {
        String json;
        try {
            json = JSON.writeValueAsString(params);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("parameters are not JSON-serialisable: " + params, e);
        }
        transaction(c -> {
            // A restarted trial keeps its number and parameters; only its state and start time change.
            try (PreparedStatement s = c.prepareStatement("INSERT INTO troupe_trials (study, number, state, params,"
                    + " started_at) VALUES (?,?,?,?,?) ON CONFLICT (study, number) DO UPDATE SET state = excluded.state,"
                    + " started_at = excluded.started_at, finished_at = NULL, reason = NULL")) {
                s.setString(1, study);
                s.setInt(2, number);
                s.setString(3, TrialState.RUNNING.name());
                s.setString(4, json);
                s.setLong(5, System.currentTimeMillis());
                s.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public void setParams(String study, int number, Map<String, Object> params) {
        String json = json(params);
        transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("UPDATE troupe_trials SET params = ? WHERE study = ? AND number = ?")) {
                s.setString(1, json);
                s.setString(2, study);
                s.setInt(3, number);
                if (s.executeUpdate() != 1) {
                    throw new IllegalStateException("trial " + number + " of " + study + " was never started");
                }
            }
            return null;
        });
    }

    @Override
    public void addLineage(String study, LineageEvent event) {
        String json = json(event.params());
        transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO troupe_trial_lineage (study, number, step, parent,"
                    + " params) VALUES (?,?,?,?,?) ON CONFLICT (study, number, step) DO UPDATE SET parent = excluded.parent,"
                    + " params = excluded.params")) {
                s.setString(1, study);
                s.setInt(2, event.number());
                s.setLong(3, event.step());
                s.setInt(4, event.parent());
                s.setString(5, json);
                s.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public List<LineageEvent> lineage(String study) {
        return transaction(c -> {
            List<LineageEvent> out = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("SELECT number, step, parent, params FROM troupe_trial_lineage"
                    + " WHERE study = ? ORDER BY step, number")) {
                s.setString(1, study);
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        out.add(new LineageEvent(r.getInt(1), r.getLong(2), r.getInt(3), params(r.getString(4))));
                    }
                }
            }
            return out;
        });
    }

    private static String json(Map<String, Object> params) {
        try {
            return JSON.writeValueAsString(params);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("parameters are not JSON-serialisable: " + params, e);
        }
    }

    @Override
    public void report(String study, int number, long step, double value) {
        transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO troupe_trial_values (study, number, step, value,"
                    + " reported_at) VALUES (?,?,?,?,?) ON CONFLICT (study, number, step) DO UPDATE SET"
                    + " value = excluded.value, reported_at = excluded.reported_at")) {
                s.setString(1, study);
                s.setInt(2, number);
                s.setLong(3, step);
                setDouble(s, 4, value);
                s.setLong(5, System.currentTimeMillis());
                s.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public void setMetrics(String study, int number, Map<String, Double> metrics) {
        transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO troupe_trial_metrics (study, number, name, value)"
                    + " VALUES (?,?,?,?) ON CONFLICT (study, number, name) DO UPDATE SET value = excluded.value")) {
                for (Map.Entry<String, Double> m : metrics.entrySet()) {
                    s.setString(1, study);
                    s.setInt(2, number);
                    s.setString(3, m.getKey());
                    setDouble(s, 4, m.getValue());
                    s.executeUpdate();
                }
            }
            return null;
        });
    }

    @Override
    public void finishTrial(String study, int number, TrialState state, double value, String reason) {
        transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("UPDATE troupe_trials SET state = ?, value = ?, reason = ?,"
                    + " finished_at = ? WHERE study = ? AND number = ?")) {
                s.setString(1, state.name());
                setDouble(s, 2, value);
                s.setString(3, reason);
                s.setLong(4, System.currentTimeMillis());
                s.setString(5, study);
                s.setInt(6, number);
                if (s.executeUpdate() != 1) {
                    throw new IllegalStateException("trial " + number + " of " + study + " was never started");
                }
            }
            Optional<Integer> best = bestTrial(c, study);
            try (PreparedStatement s = c.prepareStatement("UPDATE troupe_studies SET best_trial = ? WHERE name = ?")) {
                if (best.isPresent()) {
                    s.setInt(1, best.get());
                } else {
                    s.setNull(1, Types.INTEGER);
                }
                s.setString(2, study);
                s.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public List<TrialRecord> trials(String study) {
        return transaction(c -> {
            Map<Integer, TreeMap<Long, Double>> values = new TreeMap<>();
            try (PreparedStatement s = c.prepareStatement("SELECT number, step, value FROM troupe_trial_values"
                    + " WHERE study = ? ORDER BY number, step")) {
                s.setString(1, study);
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        values.computeIfAbsent(r.getInt(1), n -> new TreeMap<>()).put(r.getLong(2), getDouble(r, 3));
                    }
                }
            }
            Map<Integer, Map<String, Double>> metrics = new TreeMap<>();
            try (PreparedStatement s = c.prepareStatement("SELECT number, name, value FROM troupe_trial_metrics"
                    + " WHERE study = ? ORDER BY number, name")) {
                s.setString(1, study);
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        metrics.computeIfAbsent(r.getInt(1), n -> new LinkedHashMap<>()).put(r.getString(2), getDouble(r, 3));
                    }
                }
            }
            List<TrialRecord> out = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("SELECT number, state, params, value, reason, started_at,"
                    + " finished_at FROM troupe_trials WHERE study = ? ORDER BY number")) {
                s.setString(1, study);
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        int number = r.getInt(1);
                        out.add(new TrialRecord(number, TrialState.valueOf(r.getString(2)), params(r.getString(3)),
                                getDouble(r, 4), r.getString(5), r.getLong(6), r.getLong(7),
                                values.getOrDefault(number, new TreeMap<>()), metrics.getOrDefault(number, Map.of())));
                    }
                }
            }
            return out;
        });
    }

    @Override
    public Optional<Integer> bestTrial(String study) {
        return transaction(c -> bestTrial(c, study));
    }

    private static Optional<Integer> bestTrial(Connection c, String study) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT number FROM troupe_trials WHERE study = ?"
                + " AND state = 'COMPLETE' AND value IS NOT NULL ORDER BY value, number LIMIT 1")) {
            s.setString(1, study);
            try (ResultSet r = s.executeQuery()) {
                return r.next() ? Optional.of(r.getInt(1)) : Optional.empty();
            }
        }
    }

    private static Map<String, Object> params(String json) {
        try {
            Map<String, Object> raw = JSON.readValue(json, new TypeReference<LinkedHashMap<String, Object>>() { });
            Map<String, Object> out = new LinkedHashMap<>();
            raw.forEach((k, v) -> out.put(k, SearchSpace.normalize(v)));
            return out;
        } catch (JsonProcessingException e) {
            throw new StoreException(Kind.INPUT_DATA, "the study store holds unreadable parameters: " + json, e);
        }
    }

    /** SQLite turns NaN into NULL; store NULL explicitly on both, and read it back as NaN. */
    private static void setDouble(PreparedStatement s, int index, double value) throws SQLException {
        if (Double.isNaN(value)) {
            s.setNull(index, Types.DOUBLE);
        } else {
            s.setDouble(index, value);
        }
    }

    private static double getDouble(ResultSet r, int index) throws SQLException {
        double v = r.getDouble(index);
        return r.wasNull() ? Double.NaN : v;
    }

    @FunctionalInterface
    private interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    private <T> T transaction(Work<T> work) {
        try (Connection c = connect()) {
            c.setAutoCommit(false);
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw translate(e);
        }
    }

    private Connection connect() throws SQLException {
        Properties props = new Properties();
        if (!sqlite) {
            // Seconds; an unreachable server fails this fast instead of the driver's default of minutes.
            props.setProperty("connectTimeout", "10");
            props.setProperty("socketTimeout", String.valueOf(Math.max(30, busyTimeout.toSeconds() * 2)));
        }
        Connection c = DriverManager.getConnection(url, props);
        if (sqlite) {
            try (Statement s = c.createStatement()) {
                s.execute("PRAGMA busy_timeout = " + busyTimeout.toMillis());
            } catch (SQLException e) {
                c.close();
                throw e;
            }
        }
        return c;
    }

    private StoreException translate(SQLException e) {
        String message = String.valueOf(e.getMessage()).strip().replaceAll("\\s*\\R\\s*", " ");
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        if (message.contains("SQLITE_BUSY") || message.contains("database is locked") || state.equals("55P03")) {
            return new StoreException("the study store " + describe() + " is locked by another process (waited "
                    + busyTimeout.toSeconds() + " s); wait for it to finish or use another --out", e);
        }
        if (state.startsWith("08") || message.contains("Connection refused") || message.contains("UnknownHost")) {
            return new StoreException("cannot reach the study store " + describe() + ": " + message
                    + "; check that the server runs and the URL is right", e);
        }
        if (message.contains("SQLITE_NOTADB") || message.contains("file is not a database")) {
            return new StoreException("the study store " + describe() + " is not a SQLite database", e);
        }
        if (message.contains("SQLITE_CANTOPEN")) {
            return new StoreException("cannot open the study store " + describe() + "; check that its directory"
                    + " exists and is writable", e);
        }
        return new StoreException("study store " + describe() + ": " + message, e);
    }

    @Override
    public void close() {
        // Connections are per call; nothing stays open.
    }

    /** Whether a study's store exists in this directory (the default SQLite file). */
    public static boolean hasSqliteStore(Path dir) {
        return java.nio.file.Files.isRegularFile(dir.resolve(SQLITE_FILE));
    }

}
