package io.troupe.data.prepare;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.troupe.data.DataException;
import java.util.List;
import java.util.Locale;

/** Typed, range-checked reads of prepare settings, with messages that name the key. */
final class SettingsReader {

    private final Config config;

    SettingsReader(Config config) {
        this.config = config;
    }

    long longIn(String key, long min, long max) throws DataException {
        require(key);
        long value;
        try {
            value = config.getLong(key);
            // getLong truncates a fraction without complaint: shard_tokens=1.5 would become 1.
            if (config.getDouble(key) != value) {
                throw DataException.config("setting " + key + " must be an integer, got '" + raw(key) + "'");
            }
        } catch (ConfigException e) {
            throw DataException.config("setting " + key + " must be an integer, got '" + raw(key) + "'");
        }
        if (value < min || value > max) {
            throw DataException.config("setting " + key + " = " + value + " is out of range; it must be in ["
                    + min + ", " + max + "]");
        }
        return value;
    }

    int intIn(String key, int min, int max) throws DataException {
        return (int) longIn(key, min, max);
    }

    double doubleIn(String key, double min, double max) throws DataException {
        require(key);
        double value;
        try {
            value = config.getDouble(key);
        } catch (ConfigException e) {
            throw DataException.config("setting " + key + " must be a number, got '" + raw(key) + "'");
        }
        if (!(value >= min && value <= max)) {
            throw DataException.config("setting " + key + " = " + value + " is out of range; it must be in ["
                    + min + ", " + max + "]");
        }
        return value;
    }

    boolean bool(String key) throws DataException {
        require(key);
        try {
            return config.getBoolean(key);
        } catch (ConfigException e) {
            throw DataException.config("setting " + key + " must be true or false, got '" + raw(key) + "'");
        }
    }

    String string(String key) throws DataException {
        require(key);
        try {
            return config.getString(key);
        } catch (ConfigException e) {
            throw DataException.config("setting " + key + " must be a string, got '" + raw(key) + "'");
        }
    }

    List<String> strings(String key) throws DataException {
        require(key);
        try {
            return config.getStringList(key);
        } catch (ConfigException e) {
            throw DataException.config("setting " + key + " must be a list of strings such as"
                    + " [\"<|endoftext|>\"], got '" + raw(key) + "'");
        }
    }

    <E extends Enum<E>> E choice(String key, Class<E> type) throws DataException {
        String value = string(key);
        for (E constant : type.getEnumConstants()) {
            if (constant.name().equalsIgnoreCase(value)) {
                return constant;
            }
        }
        StringBuilder known = new StringBuilder();
        for (E constant : type.getEnumConstants()) {
            known.append(known.length() == 0 ? "" : ", ").append(constant.name().toLowerCase(Locale.ROOT));
        }
        throw DataException.config("setting " + key + " = '" + value + "' is not one of: " + known);
    }

    private void require(String key) throws DataException {
        if (!config.hasPath(key)) {
            throw DataException.config("setting '" + key + "' is missing");
        }
    }

    private Object raw(String key) {
        return config.getValue(key).unwrapped();
    }
}
