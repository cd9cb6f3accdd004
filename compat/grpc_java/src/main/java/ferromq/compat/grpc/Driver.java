package ferromq.compat.grpc;

import java.io.File;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Shared plumbing of the gRPC Java drivers; the same conventions as compat/grpc_py/_driver.py and
 * compat/cpp/_compat.py:
 * <ul>
 *   <li>stdout carries one JSON object per line (flushed per line); every object has an "event" key;</li>
 *   <li>exit 0 on success, 1 on a failed run, 2 on bad usage / unreachable endpoint / missing client,
 *       3 when the watchdog fired (--timeout + 15 s);</li>
 *   <li>SIGTERM/SIGINT request a clean stop (the run loop shuts the client down and exits 0).</li>
 * </ul>
 * Nothing here touches a client class before {@link #importClient} ran, so that --log-home and
 * --verbose (read when the client first logs) take effect.
 */
final class Driver {
    private Driver() {}

    static final int EXIT_OK = 0;
    static final int EXIT_FAIL = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_WATCHDOG = 3;
    /** Time allowed for the client's shutdown (NotifyClientTermination, channels closed). */
    static final double SHUTDOWN_GRACE = 10.0;
    /** The watchdog ends the process this long after --timeout, whatever it is doing. */
    static final double WATCHDOG_EXTRA = 15.0;

    static final String CLIENT = "grpc-java";
    static final String CLIENT_ARTIFACT = "rocketmq-client-java";

    /** The common options (compat/grpc_py/_driver.py add_common_args). */
    static final class Common {
        String endpoint;
        String namespace;
        int requestTimeout;
        double timeout;
        String logHome;
        boolean verbose;
        boolean tls;
        String accessKey;
        String secretKey;
    }

    static void addCommonArgs(Args p) {
        p.required("endpoint", "ENDPOINT", "gRPC endpoint HOST:PORT (cleartext HTTP/2 unless --tls)");
        p.value("namespace", "NAMESPACE", "resource namespace (default: none)");
        p.value("request-timeout", "REQUEST_TIMEOUT", "the client's per-request timeout, whole seconds (client default 3)");
        p.value("timeout", "TIMEOUT", "bound on the whole run, seconds");
        p.value("log-home", "LOG_HOME",
                "directory used as home by the client log (DIR/logs/rocketmq/rocketmq-client.log; "
                        + "system property rocketmq.log.root)");
        p.flag("verbose", "also copy the client's own log (INFO) to stderr");
        p.flag("tls", "TLS to the endpoint (the client's enableSsl; it trusts any certificate)");
        p.value("access-key", "AK", "sign calls as this user (StaticSessionCredentialsProvider)");
        p.value("secret-key", "SK", "the user's secret key");
    }

    static Common common(Args a) {
        Common c = new Common();
        c.endpoint = a.str("endpoint", null);
        c.namespace = a.str("namespace", "");
        c.requestTimeout = a.intOpt("request-timeout", 3);
        c.timeout = a.positiveFloat("timeout", 60.0);
        c.logHome = a.str("log-home", null);
        c.verbose = a.flag("verbose");
        c.tls = a.flag("tls");
        c.accessKey = a.str("access-key", null);
        c.secretKey = a.str("secret-key", "");
        return c;
    }

    // ------------------------------------------------------------------------------------------
    // exit, watchdog, signals
    // ------------------------------------------------------------------------------------------

    /** Flushes and leaves at once: the client's threads are not all daemons. */
    static void hardExit(int code) {
        Out.flush();
        Runtime.getRuntime().halt(code);
    }

    static void startWatchdog(double seconds, String what) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep((long) (seconds * 1000));
            } catch (InterruptedException e) {
                return;
            }
            Out.log("ERROR: watchdog: %s still running after %.0fs, killing myself", what, seconds);
            try {
                Map<String, Object> ev = Out.event("error");
                ev.put("error", String.format("watchdog fired after %.0fs", seconds));
                Out.emit(ev);
            } catch (Throwable ignored) {
                // leave anyway
            }
            hardExit(EXIT_WATCHDOG);
        }, "watchdog");
        t.setDaemon(true);
        t.start();
    }

    private static final CountDownLatch STOP = new CountDownLatch(1);

    /**
     * SIGTERM/SIGINT: a shutdown hook marks the stop and then waits, so that the run loop can shut
     * the client down and report before it halts the JVM with its own exit code.
     */
    static void installStopSignals() {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Out.log("received a termination signal, stopping");
            STOP.countDown();
            try {
                Thread.sleep((long) ((SHUTDOWN_GRACE + 5) * 1000));
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "stop-on-signal"));
    }

    /** Ends the run's loops as a signal would (the simple consumer's receive loop after the run). */
    static void requestStop() {
        STOP.countDown();
    }

    static boolean stopped() {
        return STOP.getCount() == 0;
    }

    /** Waits up to `seconds` for a stop signal; true when stopped. */
    static boolean waitStop(double seconds) {
        if (seconds <= 0) {
            return stopped();
        }
        try {
            return STOP.await((long) (seconds * 1000), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return stopped();
        }
    }

    static double now() {
        return System.currentTimeMillis() / 1000.0;
    }

    // ------------------------------------------------------------------------------------------
    // endpoint
    // ------------------------------------------------------------------------------------------

    /** HOST:PORT, or a usage error. */
    static InetSocketAddress parseEndpoint(String value) {
        int colon = value.lastIndexOf(':');
        String host = colon < 0 ? "" : value.substring(0, colon);
        String port = colon < 0 ? "" : value.substring(colon + 1);
        if (colon < 0 || host.isEmpty() || port.isEmpty() || !port.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException("--endpoint must be HOST:PORT, got '" + value + "'");
        }
        return InetSocketAddress.createUnresolved(host, Integer.parseInt(port));
    }

    /** Fails fast (exit 2) when nothing accepts TCP connections on the endpoint within 3 s. */
    static void preflight(String endpoint) {
        InetSocketAddress addr;
        try {
            addr = parseEndpoint(endpoint);
        } catch (IllegalArgumentException e) {
            Out.log("ERROR: %s", e.getMessage());
            Map<String, Object> ev = Out.event("error");
            ev.put("error", e.getMessage());
            Out.emit(ev);
            hardExit(EXIT_USAGE);
            return;
        }
        long deadline = System.currentTimeMillis() + 3000;
        Exception last = null;
        while (System.currentTimeMillis() < deadline) {
            try (Socket s = new Socket()) {
                int left = (int) Math.max(200, deadline - System.currentTimeMillis());
                s.connect(new InetSocketAddress(addr.getHostString(), addr.getPort()), left);
                return;
            } catch (Exception e) {
                last = e;
                try {
                    Thread.sleep(200);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        Out.log("ERROR: endpoint %s is not reachable: %s", endpoint, last);
        Map<String, Object> ev = Out.event("error");
        ev.put("error", "endpoint " + endpoint + " unreachable: " + last);
        Out.emit(ev);
        hardExit(EXIT_USAGE);
    }

    // ------------------------------------------------------------------------------------------
    // the client
    // ------------------------------------------------------------------------------------------

    /**
     * Points the client's log at --log-home (system property {@code rocketmq.log.root}, as the client's
     * bundled rocketmq.logback.xml reads it; default ~/logs/rocketmq), optionally copies it to stderr,
     * then checks that the client is on the class path (exit 2 otherwise) and installs the
     * {@link Tap}. The log is written by {@link ClientLog}: the 5.0.8 jar's own logging binds to nothing.
     */
    static void importClient(Common c) {
        if (c.logHome != null) {
            File home = new File(c.logHome).getAbsoluteFile();
            File root = new File(new File(home, "logs"), "rocketmq");
            if (!root.isDirectory() && !root.mkdirs()) {
                Out.log("warning: cannot create %s", root);
            }
            System.setProperty("rocketmq.log.root", root.getPath());
        }
        ClientLog.configure(c.verbose);
        try {
            Class.forName("org.apache.rocketmq.client.apis.ClientServiceProvider");
            Class.forName("org.apache.rocketmq.client.java.impl.ClientImpl");
        } catch (Throwable e) {
            Out.log("ERROR: cannot load %s (%s); run compat/grpc_java/setup.sh first and put "
                    + "compat/grpc_java/target/classes and the jars of compat/grpc_java/target/classpath.txt "
                    + "on the class path", CLIENT_ARTIFACT, e);
            Map<String, Object> ev = Out.event("error");
            ev.put("error", CLIENT_ARTIFACT + " not loadable: " + e);
            Out.emit(ev);
            hardExit(EXIT_USAGE);
        }
        Tap.install();
    }

    /** The client version from its jar (META-INF/maven/.../pom.properties), or null. */
    static String clientVersion() {
        String res = "META-INF/maven/org.apache.rocketmq/" + CLIENT_ARTIFACT + "/pom.properties";
        try (InputStream in = Driver.class.getClassLoader().getResourceAsStream(res)) {
            if (in == null) {
                return null;
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (Exception e) {
            return null;
        }
    }

    static org.apache.rocketmq.client.apis.ClientConfiguration clientConfig(Common c) {
        parseEndpoint(c.endpoint);
        // The client defaults to TLS (enableSsl(true)); ferromq's endpoint is cleartext HTTP/2
        // unless the broker runs with a certificate (--tls).
        org.apache.rocketmq.client.apis.ClientConfigurationBuilder b =
                org.apache.rocketmq.client.apis.ClientConfiguration.newBuilder()
                        .setEndpoints(c.endpoint)
                        .setNamespace(c.namespace)
                        .setRequestTimeout(Duration.ofSeconds(c.requestTimeout))
                        .enableSsl(c.tls);
        if (c.accessKey != null) {
            b.setCredentialProvider(
                    new org.apache.rocketmq.client.apis.StaticSessionCredentialsProvider(c.accessKey, c.secretKey));
        }
        return b.build();
    }

    static org.apache.rocketmq.client.apis.consumer.FilterExpression filterExpression(String sql, String tagExpr) {
        if (sql != null) {
            return new org.apache.rocketmq.client.apis.consumer.FilterExpression(sql,
                    org.apache.rocketmq.client.apis.consumer.FilterExpressionType.SQL92);
        }
        return new org.apache.rocketmq.client.apis.consumer.FilterExpression(tagExpr,
                org.apache.rocketmq.client.apis.consumer.FilterExpressionType.TAG);
    }

    static String clientId(Object client) {
        if (client instanceof org.apache.rocketmq.client.java.impl.ClientImpl impl) {
            return impl.getClientId().toString();
        }
        return null;
    }

    static String text(ByteBuffer body) {
        ByteBuffer b = body.duplicate();
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * The {"event":"message"} line for a received message (keys of null values left out), with the
     * fields of compat/grpc_py/_driver.py message_line in the same order. queueId, queueOffset,
     * storeHost and storeTimestamp are not on the client's MessageView: they come from the received
     * protobuf through the {@link Tap}.
     */
    static Map<String, Object> messageLine(org.apache.rocketmq.client.apis.message.MessageView msg, int delivery,
            boolean acked, Map<String, Object> wire) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("event", "message");
        out.put("body", text(msg.getBody()));
        out.put("tag", msg.getTag().orElse(null));
        List<String> keys = new ArrayList<>(msg.getKeys());
        keys.sort(null);
        out.put("keys", keys);
        out.put("props", new TreeMap<>(msg.getProperties()));
        out.put("topic", msg.getTopic());
        out.put("queueId", wire == null ? null : wire.get("queueId"));
        out.put("queueOffset", wire == null ? null : wire.get("queueOffset"));
        out.put("messageId", msg.getMessageId().toString());
        out.put("deliveryAttempt", msg.getDeliveryAttempt());
        out.put("messageGroup", msg.getMessageGroup().orElse(null));
        out.put("delivery", delivery);
        out.put("acked", acked);
        out.put("bornTimestamp", msg.getBornTimestamp());
        String bornHost = msg.getBornHost();
        out.put("bornHost", bornHost == null || bornHost.isEmpty() ? null : bornHost);
        out.put("storeTimestamp", wire == null ? null : wire.get("storeTimestamp"));
        Long dt = msg.getDeliveryTimestamp().orElse(null);
        out.put("deliveryTimestamp", dt == null || dt == 0 ? null : dt);
        out.put("storeHost", wire == null ? null : wire.get("storeHost"));
        out.values().removeIf(v -> v == null);
        return out;
    }

    /** "Type: message", then the causes the client wrapped it around. */
    static String errorText(Throwable e) {
        StringBuilder sb = new StringBuilder();
        Throwable t = e;
        for (int depth = 0; t != null && depth < 6; depth++) {
            if (depth > 0) {
                sb.append("; caused by ");
            }
            sb.append(t.getClass().getSimpleName());
            if (t.getMessage() != null) {
                sb.append(": ").append(t.getMessage());
            }
            if (t.getCause() == t) {
                break;
            }
            t = t.getCause();
        }
        return sb.toString();
    }

    /**
     * Runs fn on a worker thread (compat/cpp/_compat.py run_bounded): exits 1 when it throws or is
     * still running at the deadline (epoch seconds).
     */
    static <T> T runBounded(Callable<T> fn, double deadline, String what) {
        AtomicReference<T> value = new AtomicReference<>();
        AtomicReference<Throwable> error = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                value.set(fn.call());
            } catch (Throwable e) {
                error.set(e);
            }
        }, what);
        t.setDaemon(true);
        t.start();
        try {
            t.join(Math.max(1, (long) ((deadline - now()) * 1000)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (t.isAlive()) {
            Out.log("ERROR: %s did not finish before --timeout", what);
            Map<String, Object> ev = Out.event("error");
            ev.put("error", what + " timed out");
            Out.emit(ev);
            hardExit(EXIT_FAIL);
        }
        Throwable e = error.get();
        if (e != null) {
            Out.log("ERROR: %s failed: %s", what, errorText(e));
            e.printStackTrace(System.err);
            Map<String, Object> ev = Out.event("error");
            ev.put("error", what + " failed: " + errorText(e));
            Out.emit(ev);
            hardExit(EXIT_FAIL);
        }
        return value.get();
    }

    /** client.close() (NotifyClientTermination, channels closed) on a thread, at most SHUTDOWN_GRACE. */
    static void shutdownBounded(AutoCloseable client, String what) {
        Thread t = new Thread(() -> {
            try {
                client.close();
            } catch (Throwable e) {
                Out.log("warning: %s shutdown failed: %s", what, errorText(e));
            }
        }, "shutdown");
        t.setDaemon(true);
        t.start();
        try {
            t.join((long) (SHUTDOWN_GRACE * 1000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (t.isAlive()) {
            Out.log("warning: %s shutdown did not finish within %.0fs", what, SHUTDOWN_GRACE);
            Out.emit(Out.event("shutdown_timeout"));
        }
    }
}
