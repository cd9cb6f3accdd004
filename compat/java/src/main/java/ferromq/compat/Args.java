package ferromq.compat;

import java.util.HashMap;
import java.util.Map;

/** `--key value` and `--flag` arguments; unknown keys are a usage error (exit 2). */
final class Args {
    private final Map<String, String> values = new HashMap<>();

    Args(String[] argv, int from) {
        for (int i = from; i < argv.length; i++) {
            String a = argv[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument: " + a);
            }
            String key = a.substring(2);
            if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
                values.put(key, argv[++i]);
            } else {
                values.put(key, "true");
            }
        }
    }

    String req(String key) {
        String v = values.remove(key);
        if (v == null) {
            throw new IllegalArgumentException("--" + key + " is required");
        }
        return v;
    }

    String get(String key, String dflt) {
        String v = values.remove(key);
        return v == null ? dflt : v;
    }

    int getInt(String key, int dflt) {
        return Integer.parseInt(get(key, Integer.toString(dflt)));
    }

    long getLong(String key, long dflt) {
        return Long.parseLong(get(key, Long.toString(dflt)));
    }

    double getDouble(String key, double dflt) {
        return Double.parseDouble(get(key, Double.toString(dflt)));
    }

    boolean flag(String key) {
        return Boolean.parseBoolean(get(key, "false"));
    }

    /** Call once every option was read: leftovers are typos. */
    void done() {
        if (!values.isEmpty()) {
            throw new IllegalArgumentException("unknown options: " + values.keySet());
        }
    }
}
