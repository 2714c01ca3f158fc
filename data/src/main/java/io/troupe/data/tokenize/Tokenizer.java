package io.troupe.data.tokenize;

import io.troupe.data.DataException;
import io.troupe.data.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * Maps text to token ids and back.
 *
 * <p>Every tokenizer serialises itself to a JSON object with a {@code "type"} field;
 * {@link #load(Path)} and {@link #fromJson(String)} dispatch on that field, so a run directory's
 * {@value #FILE_NAME} (and the copy inside every checkpoint) restores the exact tokenizer the
 * model was trained with, whatever its kind.
 */
public interface Tokenizer {

    /** Name of the file a tokenizer is saved as inside a run or export directory. */
    String FILE_NAME = "tokenizer.json";

    /** The value of the {@code "type"} field in this tokenizer's JSON, e.g. {@code "char"}. */
    String type();

    /** Number of distinct token ids; every id is in {@code [0, vocabSize())}. */
    int vocabSize();

    /**
     * Encodes text to token ids.
     *
     * @throws IllegalArgumentException if the text contains something the vocabulary cannot
     *     represent; the message names it and its position
     */
    int[] encode(String text);

    /**
     * Decodes token ids to text; {@code decode(encode(s)).equals(s)} for every encodable s.
     *
     * @throws IllegalArgumentException if an id is outside {@code [0, vocabSize())}
     */
    String decode(int[] tokens);

    /**
     * The id of the special token that ends a document ({@code <|endoftext|>} in GPT-2), if this
     * tokenizer has one. Prepared datasets put it after every document, so a model learns where
     * one text stops and the next begins. {@link #encode} never produces it: the same characters
     * inside a text are encoded as ordinary text.
     */
    default OptionalInt endOfTextId() {
        return OptionalInt.empty();
    }

    /** This tokenizer as a compact JSON object that {@link #fromJson(String)} reads back. */
    String toJson();

    /**
     * Atomically writes {@link #toJson()} to {@code directory/tokenizer.json}.
     *
     * @return the file written
     * @throws DataException if the file cannot be written
     */
    default Path save(Path directory) throws DataException {
        Path file = directory.resolve(FILE_NAME);
        try {
            AtomicFiles.writeString(file, toJson() + "\n");
        } catch (IOException e) {
            throw new DataException("cannot write tokenizer " + file + ": " + e
                    + "; check that the directory is writable and the disk is not full", e);
        }
        return file;
    }

    /**
     * Reads a tokenizer saved by {@link #save(Path)}.
     *
     * @param path the {@value #FILE_NAME} file, or a directory that contains one
     * @throws DataException if the file is missing, unreadable, or not a tokenizer this version
     *     knows
     */
    static Tokenizer load(Path path) throws DataException {
        Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        if (!Files.isRegularFile(file)) {
            throw new DataException("tokenizer file " + file + " does not exist; run prepare"
                    + " first or pass the directory that holds " + FILE_NAME);
        }
        String json;
        try {
            json = Files.readString(file);
        } catch (IOException e) {
            throw new DataException("cannot read tokenizer " + file + ": " + e
                    + "; check the file's permissions or re-create it with prepare", e);
        }
        return TokenizerJson.parse(json, "tokenizer " + file);
    }

    /**
     * Reads a tokenizer from the JSON {@link #toJson()} produced, dispatching on its
     * {@code "type"} field.
     *
     * @throws DataException if the JSON is malformed or names an unknown type
     */
    static Tokenizer fromJson(String json) throws DataException {
        return TokenizerJson.parse(json, "tokenizer JSON");
    }
}
