package io.troupe.ops.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A train config file ({@code --config FILE}): training keys as HOCON {@code key = value} lines,
 * read into the same overrides a command line's {@code key=value} arguments give.
 */
final class ConfigFile {
    private ConfigFile() {
    }

    /**
     * Reads the file's settings.
     *
     * @throws UserError naming the file (and the line of an unknown key) if it is missing, not
     *     HOCON, or sets something that is not a training key
     */
    static Map<String, String> read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw UserError.inputData("--config " + file + " does not exist or is not a file");
        }
        Config c;
        try {
            c = ConfigFactory.parseFile(file.toFile()).resolve();
        } catch (ConfigException e) {
            throw UserError.inputData("--config " + file + " is not valid HOCON: " + e.getMessage(), e);
        }
        Set<String> known = TrainSettings.keys();
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigValue> e : new TreeMap<>(c.root()).entrySet()) {
            if (!known.contains(e.getKey())) {
                throw UserError.inputData("--config " + file + " line " + e.getValue().origin().lineNumber() + ": '"
                        + e.getKey() + "' is not a training key; known keys: " + known);
            }
            out.put(e.getKey(), e.getValue().render(ConfigRenderOptions.concise()));
        }
        return out;
    }
}
