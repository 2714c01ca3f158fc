package io.troupe.data.prepare;

import io.troupe.data.shard.Manifest;
import java.nio.file.Path;

/**
 * A finished prepare.
 *
 * @param directory the dataset directory
 * @param manifest what was written to its manifest.json
 * @param report the run's report
 */
public record PrepareResult(Path directory, Manifest manifest, PrepareReport report) {
}
