package io.troupe.ops.cli;

import io.troupe.data.labelled.LabelSet;
import io.troupe.ops.inference.ExportedClassifier;
import io.troupe.ops.inference.ExportedEncoder;
import io.troupe.ops.inference.ExportedModel;
import io.troupe.ops.inference.OnnxMetadata;
import io.troupe.ops.serve.monitor.MonitoredModel;
import io.troupe.ops.serve.monitor.ReferenceProfile;
import io.troupe.ops.serve.monitor.ReferenceProfiles;
import io.troupe.worker.card.ModelCard;
import io.troupe.worker.run.EncoderExport;
import io.troupe.worker.run.ModelExport;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Stores the reference profile of a model just exported ({@link ReferenceProfile}), so that
 * {@code troupe serve} starts watching for drift at once instead of computing it. Best effort:
 * a failure is one warning line, and serve computes the profile itself.
 */
final class StoredProfile {
    private StoredProfile() {
    }

    /** Profiles the model in {@code dir} on {@code data}, the text it was trained on; true when stored. */
    static boolean write(Path dir, Path data, PrintWriter err) {
        try {
            ReferenceProfile profile;
            if (Files.isRegularFile(dir.resolve(LabelSet.FILE_NAME))) {
                try (ExportedClassifier classifier = ExportedClassifier.open(dir, 1)) {
                    profile = ReferenceProfiles.of(MonitoredModel.of(classifier), data);
                }
            } else if (isEncoder(dir)) {
                try (ExportedEncoder encoder = ExportedEncoder.open(dir, 1)) {
                    profile = ReferenceProfiles.of(MonitoredModel.of(encoder), data);
                }
            } else {
                try (ExportedModel model = ExportedModel.open(dir, 1)) {
                    profile = ReferenceProfiles.of(MonitoredModel.of(model), data);
                }
            }
            profile.write(dir);
            if (Files.isRegularFile(dir.resolve(ModelCard.FILE_NAME))) {
                // The card was written with the run's summary, before the profile existed: its Monitoring section
                // must show the profile serve will compare with.
                ModelCard.write(dir);
            }
            return true;
        } catch (Exception e) {
            err.println("troupe: warning: no reference profile stored in " + dir + " (" + e.getMessage()
                    + "); troupe serve computes it from the run's data when it starts");
            err.flush();
            return false;
        }
    }

    private static boolean isEncoder(Path dir) throws io.troupe.data.DataException {
        Path model = dir.resolve(ModelExport.FILE_NAME);
        return Files.isRegularFile(model) && EncoderExport.ENCODER.equals(OnnxMetadata.read(model).get(ExportedModel.TASK));
    }

    /** Drops a profile left by an earlier run in {@code dir}, which would describe other data. */
    static void deleteStale(Path dir) {
        try {
            Files.deleteIfExists(dir.resolve(ReferenceProfile.FILE_NAME));
        } catch (java.io.IOException e) {
            throw UserError.io("cannot replace " + dir.resolve(ReferenceProfile.FILE_NAME) + ": " + e.getMessage(), e);
        }
    }
}
