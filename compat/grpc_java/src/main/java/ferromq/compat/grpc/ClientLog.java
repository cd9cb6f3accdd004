package ferromq.compat.grpc;

import java.io.File;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.text.SimpleDateFormat;
import java.util.Date;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.apache.rocketmq.shaded.org.slf4j.ILoggerFactory;
import org.apache.rocketmq.shaded.org.slf4j.Logger;
import org.apache.rocketmq.shaded.org.slf4j.helpers.FormattingTuple;
import org.apache.rocketmq.shaded.org.slf4j.helpers.MarkerIgnoringBase;
import org.apache.rocketmq.shaded.org.slf4j.helpers.MessageFormatter;

/**
 * The client's log, through the slf4j binding the driver supplies
 * ({@code org.apache.rocketmq.shaded.org.slf4j.impl.StaticLoggerBinder}; without it the 5.0.8 client
 * logs nothing). It follows the client's own logback configuration (rocketmq.logback.xml in its jar):
 * the file {@code ${rocketmq.log.root:-~/logs/rocketmq}/rocketmq-client.log}, level
 * {@code ${rocketmq.log.level:-info}}, the same line pattern; --verbose copies it to stderr.
 *
 * <p>The logger of {@code org.apache.rocketmq.client.java.rpc.LoggingInterceptor}, which the client
 * calls at TRACE with every gRPC request and response object, also feeds the {@link Tap}.
 */
public final class ClientLog {
    private ClientLog() {}

    static final int TRACE = 0;
    static final int DEBUG = 1;
    static final int INFO = 2;
    static final int WARN = 3;
    static final int ERROR = 4;
    private static final String[] NAMES = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};
    static final String TAPPED = "org.apache.rocketmq.client.java.rpc.LoggingInterceptor";

    private static volatile boolean verbose;
    private static volatile boolean tapEnabled;
    private static int level = -1;
    private static Writer file;
    private static boolean fileFailed;
    private static String pid;

    /** Called before any client class is initialised. */
    static void configure(boolean copyToStderr) {
        verbose = copyToStderr;
    }

    static void enableTap() {
        tapEnabled = true;
    }

    /** Where the log goes (the client's own default without --log-home). */
    static File logFile() {
        String root = System.getProperty("rocketmq.log.root");
        if (root == null || root.isEmpty()) {
            root = System.getProperty("user.home") + File.separator + "logs" + File.separator + "rocketmq";
        }
        return new File(root, "rocketmq-client.log");
    }

    private static synchronized int level() {
        if (level < 0) {
            String v = System.getProperty("rocketmq.log.level", "info").trim().toUpperCase(Locale.ROOT);
            level = INFO;
            for (int i = 0; i < NAMES.length; i++) {
                if (NAMES[i].equals(v)) {
                    level = i;
                }
            }
            if (v.equals("ALL")) {
                level = TRACE;
            } else if (v.equals("OFF")) {
                level = ERROR + 1;
            }
        }
        return level;
    }

    static boolean enabled(int lvl) {
        return lvl >= level();
    }

    private static synchronized void write(int lvl, String name, String msg, Throwable t) {
        if (pid == null) {
            pid = Long.toString(ProcessHandle.current().pid());
        }
        String shortName = name;
        int dot = name.lastIndexOf('.');
        if (dot >= 0) {
            shortName = name.substring(dot + 1);
        }
        StringBuilder sb = new StringBuilder(256);
        sb.append(new SimpleDateFormat("yyyy-MM-dd HH:mm:ss.SSS").format(new Date()))
                .append(' ').append(String.format("%-5s", NAMES[lvl]))
                .append(" [").append(pid).append("] [").append(Thread.currentThread().getName()).append("] [")
                .append(shortName).append("] - ").append(msg).append('\n');
        if (t != null) {
            StringWriter sw = new StringWriter();
            t.printStackTrace(new PrintWriter(sw));
            sb.append(sw);
        }
        String line = sb.toString();
        if (file == null && !fileFailed) {
            File f = logFile();
            try {
                File dir = f.getParentFile();
                if (dir != null) {
                    dir.mkdirs();
                }
                file = new OutputStreamWriter(new FileOutputStream(f, true), StandardCharsets.UTF_8);
            } catch (Exception e) {
                fileFailed = true;
                System.err.println("[client log] cannot open " + f + ": " + e);
            }
        }
        if (file != null) {
            try {
                file.write(line);
                file.flush();
            } catch (Exception e) {
                // a full disk must not break the run
            }
        }
        if (verbose) {
            System.err.print("[client] " + line);
            System.err.flush();
        }
    }

    public static final ILoggerFactory FACTORY = new ILoggerFactory() {
        private final ConcurrentMap<String, Logger> loggers = new ConcurrentHashMap<>();

        @Override
        public Logger getLogger(String name) {
            return loggers.computeIfAbsent(name, ClientLogger::new);
        }
    };

    /** One logger of the client (slf4j 1.7 API, markers ignored). */
    static final class ClientLogger extends MarkerIgnoringBase {
        private static final long serialVersionUID = 1L;
        private final boolean tapped;

        ClientLogger(String name) {
            this.name = name;
            this.tapped = TAPPED.equals(name);
        }

        private void log(int lvl, String fmt, Object[] args, Throwable t) {
            if (lvl == TRACE && tapped && tapEnabled && args != null) {
                Tap.onTrace(args);
            }
            if (!enabled(lvl)) {
                return;
            }
            Throwable thrown = t;
            String msg = fmt;
            if (args != null) {
                FormattingTuple ft = MessageFormatter.arrayFormat(fmt, args);
                msg = ft.getMessage();
                if (thrown == null) {
                    thrown = ft.getThrowable();
                }
            }
            write(lvl, name, msg, thrown);
        }

        private boolean on(int lvl) {
            return (lvl == TRACE && tapped && tapEnabled) || enabled(lvl);
        }

        @Override public boolean isTraceEnabled() { return on(TRACE); }
        @Override public void trace(String msg) { log(TRACE, msg, null, null); }
        @Override public void trace(String fmt, Object a) { log(TRACE, fmt, new Object[] {a}, null); }
        @Override public void trace(String fmt, Object a, Object b) { log(TRACE, fmt, new Object[] {a, b}, null); }
        @Override public void trace(String fmt, Object... args) { log(TRACE, fmt, args, null); }
        @Override public void trace(String msg, Throwable t) { log(TRACE, msg, null, t); }

        @Override public boolean isDebugEnabled() { return on(DEBUG); }
        @Override public void debug(String msg) { log(DEBUG, msg, null, null); }
        @Override public void debug(String fmt, Object a) { log(DEBUG, fmt, new Object[] {a}, null); }
        @Override public void debug(String fmt, Object a, Object b) { log(DEBUG, fmt, new Object[] {a, b}, null); }
        @Override public void debug(String fmt, Object... args) { log(DEBUG, fmt, args, null); }
        @Override public void debug(String msg, Throwable t) { log(DEBUG, msg, null, t); }

        @Override public boolean isInfoEnabled() { return on(INFO); }
        @Override public void info(String msg) { log(INFO, msg, null, null); }
        @Override public void info(String fmt, Object a) { log(INFO, fmt, new Object[] {a}, null); }
        @Override public void info(String fmt, Object a, Object b) { log(INFO, fmt, new Object[] {a, b}, null); }
        @Override public void info(String fmt, Object... args) { log(INFO, fmt, args, null); }
        @Override public void info(String msg, Throwable t) { log(INFO, msg, null, t); }

        @Override public boolean isWarnEnabled() { return on(WARN); }
        @Override public void warn(String msg) { log(WARN, msg, null, null); }
        @Override public void warn(String fmt, Object a) { log(WARN, fmt, new Object[] {a}, null); }
        @Override public void warn(String fmt, Object a, Object b) { log(WARN, fmt, new Object[] {a, b}, null); }
        @Override public void warn(String fmt, Object... args) { log(WARN, fmt, args, null); }
        @Override public void warn(String msg, Throwable t) { log(WARN, msg, null, t); }

        @Override public boolean isErrorEnabled() { return on(ERROR); }
        @Override public void error(String msg) { log(ERROR, msg, null, null); }
        @Override public void error(String fmt, Object a) { log(ERROR, fmt, new Object[] {a}, null); }
        @Override public void error(String fmt, Object a, Object b) { log(ERROR, fmt, new Object[] {a, b}, null); }
        @Override public void error(String fmt, Object... args) { log(ERROR, fmt, args, null); }
        @Override public void error(String msg, Throwable t) { log(ERROR, msg, null, t); }
    }
}
