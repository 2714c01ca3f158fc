package io.troupe.data.pairs;

/** One translation pair: the source text and its target, as read from a pairs file. */
public record SentencePair(String source, String target) {
}
