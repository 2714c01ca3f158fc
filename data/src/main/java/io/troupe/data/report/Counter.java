package io.troupe.data.report;

/** Everything a prepare run counts; the report and the manifest are built from these. */
public enum Counter {
    /** Files read. */
    FILES,
    /** Files under an input directory ignored for their extension. */
    FILES_UNSUPPORTED,
    /** Files under an input directory skipped as README, LICENSE and the like. */
    FILES_DOCUMENTATION,
    /** Files under an input directory skipped for matching an exclude glob. */
    FILES_EXCLUDED,
    /** Files skipped as binary. */
    FILES_BINARY,
    /** Files that could not be read (completely). */
    FILES_UNREADABLE,
    /** Bytes read from disk (compressed, for gzip). */
    INPUT_BYTES,
    /** Documents read: text pieces and non-blank JSONL lines. */
    DOCS_READ,
    /** JSONL lines over max_jsonl_line_bytes, skipped. */
    JSONL_LINES_TOO_LONG,
    /** JSONL lines that are not an object with a string text field, skipped. */
    JSONL_MALFORMED,
    /** Documents with bytes invalid in the input encoding. */
    INVALID_ENCODING_DOCS,
    /** Invalid byte sequences, in all documents. */
    INVALID_ENCODING_SEQUENCES,
    /** Documents dropped for invalid bytes (on_invalid = skip). */
    INVALID_ENCODING_DROPPED,
    /** Documents with CR or CRLF line endings, rewritten to LF. */
    LINE_ENDINGS_DOCS,
    /** Documents changed by Unicode normalization. */
    UNICODE_DOCS,
    /** Documents that had control characters. */
    CONTROL_DOCS,
    /** Control characters deleted. */
    CONTROL_CHARS,
    /** Documents changed by whitespace normalization. */
    WHITESPACE_DOCS,
    /** Documents changed by lower-casing. */
    LOWERCASE_DOCS,
    /** Lines deleted for being longer than max_line_chars. */
    LONG_LINES,
    /** Documents that lost long lines. */
    LONG_LINE_DOCS,
    /** Documents dropped as shorter than min_doc_chars (empty ones included). */
    FILTER_TOO_SHORT,
    /** Documents dropped as longer than max_doc_chars. */
    FILTER_TOO_LONG,
    /** Documents dropped for too few letters. */
    FILTER_ALPHA,
    /** Documents dropped for too many repeated lines. */
    FILTER_REPEATED_LINES,
    /** Documents dropped for a mean word length out of range. */
    FILTER_WORD_LENGTH,
    /** Documents dropped as exact duplicates. */
    EXACT_DUPLICATES,
    /** Documents dropped as near duplicates. */
    NEAR_DUPLICATES,
    /** Documents kept but not added to the full dedup index. */
    DEDUP_NOT_INDEXED,
    /** Documents in the train split. */
    DOCS_TRAIN,
    /** Documents in the val split. */
    DOCS_VAL,
    /** UTF-8 bytes of the kept text in train. */
    TEXT_BYTES_TRAIN,
    /** UTF-8 bytes of the kept text in val. */
    TEXT_BYTES_VAL,
    /** Tokens in train, separators included. */
    TOKENS_TRAIN,
    /** Tokens in val, separators included. */
    TOKENS_VAL
}
