package io.troupe.worker.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.troupe.worker.train.TrainSettings;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Moves a job's settings between JVMs as JSON and fingerprints its data. */
public final class JobSettings {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JobSettings() {
    }

    /** The settings as the JSON a JoinJob carries. */
    public static String toJson(TrainSettings settings) {
        return settings.toJson(JSON).toString();
    }

    /** Parses the JSON of {@link #toJson}: HOCON is a superset of JSON. */
    public static TrainSettings parse(String json) {
        return TrainSettings.from(ConfigFactory.parseString(json));
    }

    /** What a checkpoint of these settings must match to be resumed (as the local trainer writes it). */
    public static String resumeIdentity(TrainSettings settings, int vocabSize) {
        return settings.resumeIdentity(JSON, vocabSize).toString();
    }

    /** SHA-256 of a corpus's text, hex. */
    public static String sha256(String text) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(digest.digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
