package io.troupe.data.shard;

/**
 * One shard file as the manifest lists it.
 *
 * @param path relative to the dataset directory, '/'-separated, e.g. {@code train/shard-000000.bin}
 * @param split the split it belongs to
 * @param tokens the tokens it holds
 * @param sha256 the SHA-256 of its bytes, lower-case hex
 */
public record ShardInfo(String path, Split split, long tokens, String sha256) {
}
