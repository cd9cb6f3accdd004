package ferromq.compat.grpc;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * stdout carries one JSON object per line, flushed per line, every object with an "event" key;
 * stderr carries human-readable logs ({@code [<name> <pid> +<s>s] ...}, as compat/cpp/_compat.py).
 * The client library and anything else that prints to System.out is sent to stderr.
 */
final class Out {
    private Out() {}

    /** The real stdout; System.out is pointed at stderr as soon as this class loads. */
    private static final PrintStream STDOUT = System.out;
    private static final long T0 = ManagementFactory.getRuntimeMXBean().getStartTime();
    private static volatile String name = "grpc-java";

    static {
        System.setOut(System.err);
    }

    static void setName(String n) {
        name = n;
    }

    static long pid() {
        return ProcessHandle.current().pid();
    }

    static Map<String, Object> event(String event) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("event", event);
        return m;
    }

    static synchronized void emit(Map<String, Object> m) {
        StringBuilder sb = new StringBuilder();
        write(sb, m);
        STDOUT.print(sb.append('\n'));
        STDOUT.flush();
    }

    static void log(String fmt, Object... args) {
        String msg = args.length == 0 ? fmt : String.format(fmt, args);
        double t = (System.currentTimeMillis() - T0) / 1000.0;
        synchronized (System.err) {
            System.err.printf("[%s %d +%.1fs] %s%n", name, pid(), t, msg);
            System.err.flush();
        }
    }

    /** Help text and usage errors: the real stdout (argparse prints --help there). */
    static void printHelp(String text) {
        STDOUT.print(text);
        STDOUT.flush();
    }

    static void flush() {
        STDOUT.flush();
        System.err.flush();
    }

    @SuppressWarnings("unchecked")
    private static void write(StringBuilder sb, Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                sb.append("null");
            } else {
                sb.append(d);
            }
        } else if (v instanceof Number || v instanceof Boolean) {
            sb.append(v);
        } else if (v instanceof Map) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<Object, Object> e : ((Map<Object, Object>) v).entrySet()) {
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                str(sb, String.valueOf(e.getKey()));
                sb.append(": ");
                write(sb, e.getValue());
            }
            sb.append('}');
        } else if (v instanceof Iterable) {
            sb.append('[');
            boolean first = true;
            for (Object o : (Iterable<Object>) v) {
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                write(sb, o);
            }
            sb.append(']');
        } else {
            str(sb, v.toString());
        }
    }

    /** A JSON string, non-ASCII escaped as \\uXXXX (as Python's json.dumps does by default). */
    private static void str(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
