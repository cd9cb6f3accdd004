package ferromq.compat.grpc;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small argparse: the drivers take exactly the options of compat/grpc_py/*.py, with argparse's
 * behaviour where it shows: {@code --opt value} or {@code --opt=value}, unambiguous prefixes of an
 * option name, the last value wins (append options collect), {@code -h/--help} prints the help on
 * stdout and exits 0, and a usage error prints {@code usage: ...} and {@code error: ...} on stderr
 * and exits 2.
 */
final class Args {
    /** A usage error (exit 2). */
    static final class UsageError extends RuntimeException {
        UsageError(String message) {
            super(message);
        }
    }

    /** -h/--help was given. */
    static final class HelpRequested extends RuntimeException {
        HelpRequested() {
            super("help");
        }
    }

    enum Kind { VALUE, FLAG, APPEND, CONST }

    private static final class Opt {
        final String name;
        final Kind kind;
        final String dest;
        final String constValue;
        final String metavar;
        final String help;
        final String group; // mutually exclusive group name, or null

        Opt(String name, Kind kind, String dest, String constValue, String metavar, String help, String group) {
            this.name = name;
            this.kind = kind;
            this.dest = dest;
            this.constValue = constValue;
            this.metavar = metavar;
            this.help = help;
            this.group = group;
        }
    }

    private final String prog;
    private final String description;
    private final Map<String, Opt> opts = new LinkedHashMap<>();
    private final Map<String, String> values = new LinkedHashMap<>();
    private final Map<String, List<String>> lists = new LinkedHashMap<>();
    private final Map<String, String> groupSeen = new LinkedHashMap<>();
    private final List<String> required = new ArrayList<>();

    Args(String prog, String description) {
        this.prog = prog;
        this.description = description;
    }

    Args value(String name, String metavar, String help) {
        return add(new Opt(name, Kind.VALUE, name, null, metavar, help, null));
    }

    Args required(String name, String metavar, String help) {
        required.add(name);
        return value(name, metavar, help);
    }

    Args flag(String name, String help) {
        return add(new Opt(name, Kind.FLAG, name, null, null, help, null));
    }

    Args append(String name, String metavar, String help) {
        return add(new Opt(name, Kind.APPEND, name, null, metavar, help, null));
    }

    /** A store_const option in a mutually exclusive group: {@code --name} stores constValue in dest. */
    Args exclusiveConst(String group, String name, String dest, String constValue, String help) {
        return add(new Opt(name, Kind.CONST, dest, constValue, null, help, group));
    }

    private Args add(Opt o) {
        opts.put(o.name, o);
        return this;
    }

    String usage() {
        StringBuilder sb = new StringBuilder("usage: ").append(prog);
        for (Opt o : opts.values()) {
            boolean req = required.contains(o.name);
            String item = "--" + o.name + (o.kind == Kind.VALUE || o.kind == Kind.APPEND
                    ? " " + o.metavar : "");
            sb.append(' ').append(req ? item : "[" + item + "]");
        }
        return sb.append('\n').toString();
    }

    String help() {
        StringBuilder sb = new StringBuilder(usage()).append('\n').append(description).append("\noptions:\n");
        sb.append("  -h, --help            show this help message and exit\n");
        for (Opt o : opts.values()) {
            String item = "--" + o.name + (o.kind == Kind.VALUE || o.kind == Kind.APPEND ? " " + o.metavar : "");
            sb.append(String.format("  %-22s%s%n", item, o.help == null ? "" : o.help));
        }
        return sb.toString();
    }

    UsageError error(String message) {
        return new UsageError(message);
    }

    /** Parses argv (after the subcommand). */
    Args parse(String[] argv, int from) {
        for (int i = from; i < argv.length; i++) {
            String a = argv[i];
            if (a.equals("-h") || a.equals("--help")) {
                throw new HelpRequested();
            }
            if (!a.startsWith("--") || a.length() == 2) {
                throw error("unrecognized arguments: " + a);
            }
            String key = a.substring(2);
            String inline = null;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                inline = key.substring(eq + 1);
                key = key.substring(0, eq);
            }
            Opt o = lookup(key, a);
            if (o.group != null) {
                String other = groupSeen.get(o.group);
                if (other != null && !other.equals(o.name)) {
                    throw error("argument --" + o.name + ": not allowed with argument --" + other);
                }
                groupSeen.put(o.group, o.name);
            }
            switch (o.kind) {
                case FLAG, CONST -> {
                    if (inline != null) {
                        throw error("argument --" + o.name + ": ignored explicit argument '" + inline + "'");
                    }
                    values.put(o.dest, o.kind == Kind.FLAG ? "true" : o.constValue);
                }
                case VALUE, APPEND -> {
                    String v = inline;
                    if (v == null) {
                        if (i + 1 >= argv.length || (argv[i + 1].startsWith("-") && !isNumber(argv[i + 1]))) {
                            throw error("argument --" + o.name + ": expected one argument");
                        }
                        v = argv[++i];
                    }
                    if (o.kind == Kind.VALUE) {
                        values.put(o.dest, v);
                    } else {
                        lists.computeIfAbsent(o.dest, k -> new ArrayList<>()).add(v);
                    }
                }
            }
        }
        List<String> missing = new ArrayList<>();
        for (String r : required) {
            if (!values.containsKey(r)) {
                missing.add("--" + r);
            }
        }
        if (!missing.isEmpty()) {
            throw error("the following arguments are required: " + String.join(", ", missing));
        }
        return this;
    }

    private static boolean isNumber(String s) {
        return s.matches("-\\d+(\\.\\d*)?|-\\.\\d+");
    }

    private Opt lookup(String key, String arg) {
        Opt exact = opts.get(key);
        if (exact != null) {
            return exact;
        }
        List<String> matches = new ArrayList<>();
        for (String n : opts.keySet()) {
            if (n.startsWith(key)) {
                matches.add(n);
            }
        }
        if (matches.size() == 1) {
            return opts.get(matches.get(0));
        }
        if (matches.size() > 1) {
            List<String> dashed = new ArrayList<>();
            for (String m : matches) {
                dashed.add("--" + m);
            }
            throw error("ambiguous option: " + arg + " could match " + String.join(", ", dashed));
        }
        throw error("unrecognized arguments: " + arg);
    }

    String str(String name, String dflt) {
        return values.getOrDefault(name, dflt);
    }

    boolean flag(String name) {
        return "true".equals(values.get(name));
    }

    List<String> list(String name) {
        return lists.getOrDefault(name, new ArrayList<>());
    }

    Integer intOpt(String name, Integer dflt) {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw error("argument --" + name + ": invalid int value: '" + v + "'");
        }
    }

    Double floatOpt(String name, Double dflt) {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw error("argument --" + name + ": invalid float value: '" + v + "'");
        }
    }

    /** compat/cpp/_compat.py positive_float. */
    double positiveFloat(String name, double dflt) {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        double d;
        try {
            d = Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw error("argument --" + name + ": invalid positive_float value: '" + v + "'");
        }
        if (!(d > 0)) {
            throw error("argument --" + name + ": invalid positive_float value: '" + v + "'");
        }
        return d;
    }

    String choice(String name, String dflt, String... choices) {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        for (String c : choices) {
            if (c.equals(v)) {
                return v;
            }
        }
        throw error("argument --" + name + ": invalid choice: '" + v + "' (choose from '"
                + String.join("', '", choices) + "')");
    }

    boolean has(String name) {
        return values.containsKey(name);
    }
}
