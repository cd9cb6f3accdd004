package ferromq.compat.grpc;

import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.MessageListener;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.java.impl.consumer.PushSubscriptionSettings;

/** The PushConsumer: compat/grpc_py/push_consumer.py, with the Java client. */
final class Push {
    private Push() {}

    static final String DESCRIPTION = String.join("\n",
            "PushConsumer driven through Maven org.apache.rocketmq:rocketmq-client-java (Apache RocketMQ 5.x client, gRPC).",
            "Options, stdout lines and exit codes are those of compat/grpc_py/push_consumer.py.",
            "",
            "PushConsumer(listener): the client asks the server for its queue assignment (QueryAssignment, every 5 s),",
            "long-polls each assigned queue (ReceiveMessage) and calls the MessageListener once per message.",
            "SUCCESS makes the client ack the message; FAILURE makes it call ChangeInvisibleDuration with the retry",
            "backoff the server's settings give, so the message comes back with deliveryAttempt + 1.",
            "Whether the group is FIFO is decided by the server (Settings.subscription.fifo): a FIFO consumer calls the",
            "listener for one message group in order, retries a failed message itself after the backoff (the Java",
            "client counts the local retry in deliveryAttempt) and forwards it to the dead-letter queue after max",
            "attempts.",
            "",
            "--fail-first-times K  the listener answers FAILURE to the first K deliveries of every body.",
            "",
            "stdout, one JSON line per listener call (absent fields were not set on the message):",
            "  {\"event\":\"message\",\"body\":...,\"tag\":...,\"keys\":[...],\"props\":{user properties},\"topic\":...,",
            "   \"queueId\":N,\"queueOffset\":N,\"messageId\":...,\"deliveryAttempt\":N,\"messageGroup\":...,\"delivery\":n,",
            "   \"acked\":true|false,\"bornTimestamp\":ms,\"storeTimestamp\":ms,\"deliveryTimestamp\":ms,\"storeHost\":...}",
            "  acked is the listener's answer (true = SUCCESS; the client then acks).",
            "other lines: {\"event\":\"started\",...,\"fifo\":bool}, {\"event\":\"error\",...}, {\"event\":\"shutdown_timeout\"},",
            "  {\"event\":\"done\",\"reason\":...,\"received\":N,\"deliveries\":N,\"exitCode\":N}.",
            "",
            "Exit conditions:",
            "  --expect N     exit 0 once N distinct bodies were answered SUCCESS (after --linger S more seconds);",
            "                 exit 1 if --timeout comes first.",
            "  --timeout S    end of the run: exit 0 unless --expect was set and not reached (default 60).",
            "  SIGTERM/SIGINT clean shutdown, exit 0.",
            "build() (startup) fails without the route or the server's Settings: exit 1.",
            "Exit 2: bad usage, unreachable endpoint or client not installed; 3: the watchdog fired.",
            "");

    static Args parser(String prog) {
        Args p = new Args(prog, DESCRIPTION);
        Driver.addCommonArgs(p);
        p.required("topic", "TOPIC", null);
        p.required("group", "GROUP", "consumer group");
        p.value("tag-expr", "TAG_EXPR", "TAG filter: '*' or 'A||B'");
        p.value("sql", "SQL", "SQL92 filter instead of --tag-expr");
        p.value("expect", "EXPECT", "exit 0 after N distinct bodies consumed");
        p.value("linger", "LINGER", "keep consuming S seconds after --expect");
        p.value("fail-first-times", "FAIL_FIRST_TIMES", "answer FAILURE to the first K deliveries of every body");
        p.value("threads", "THREADS", "consumption threads (client default 20)");
        return p;
    }

    private static final class State {
        final Map<String, Integer> deliveries = new HashMap<>();
        final Set<String> succeeded = new HashSet<>();
        int total;
        Double expectReachedAt;
        volatile String internalError;
    }

    /** Settings.subscription.fifo as the client took it (PushConsumerImpl is package-private). */
    private static Boolean fifo(PushConsumer consumer) {
        try {
            Method m = consumer.getClass().getMethod("getPushConsumerSettings");
            m.setAccessible(true);
            return ((PushSubscriptionSettings) m.invoke(consumer)).isFifo();
        } catch (Throwable e) {
            Out.log("warning: cannot read the consumer's fifo setting: %s", Driver.errorText(e));
            return null;
        }
    }

    static int run(String prog, String[] argv) {
        Out.setName("grpc-push-consumer");
        Args p = parser(prog);
        p.parse(argv, 1);
        Driver.Common common = Driver.common(p);
        String topic = p.str("topic", null);
        String group = p.str("group", null);
        String tagExpr = p.str("tag-expr", "*");
        String sql = p.str("sql", null);
        Integer expect = p.intOpt("expect", null);
        double linger = p.floatOpt("linger", 0.0);
        int failFirstTimes = p.intOpt("fail-first-times", 0);
        int threads = p.intOpt("threads", 20);
        if (expect != null && expect < 0) {
            throw p.error("--expect must be >= 0");
        }
        if (failFirstTimes < 0) {
            throw p.error("--fail-first-times must be >= 0");
        }
        if (threads < 1) {
            throw p.error("--threads must be >= 1");
        }

        Driver.startWatchdog(common.timeout + Driver.WATCHDOG_EXTRA, "push consumer");
        Driver.preflight(common.endpoint);
        Driver.importClient(common);

        double t0 = Driver.now();
        Driver.installStopSignals();
        State state = new State();

        MessageListener listener = message -> {
            // Runs on a consumption thread; an exception would count as FAILURE, keep the driver's own apart.
            try {
                Map<String, Object> wire = Tap.lookup(message);
                String body = Driver.text(message.getBody());
                int n;
                boolean ok;
                synchronized (state) {
                    n = state.deliveries.getOrDefault(body, 0) + 1;
                    state.deliveries.put(body, n);
                    state.total++;
                    ok = n > failFirstTimes;
                    if (ok) {
                        state.succeeded.add(body);
                        if (expect != null && state.expectReachedAt == null && state.succeeded.size() >= expect) {
                            state.expectReachedAt = Driver.now();
                        }
                    }
                }
                Out.emit(Driver.messageLine(message, n, ok, wire));
                return ok ? ConsumeResult.SUCCESS : ConsumeResult.FAILURE;
            } catch (Throwable e) {
                state.internalError = Driver.errorText(e);
                Out.log("ERROR: listener failed: %s", state.internalError);
                return ConsumeResult.SUCCESS;
            }
        };

        ClientServiceProvider provider = ClientServiceProvider.loadService();
        var builder = provider.newPushConsumerBuilder()
                .setClientConfiguration(Driver.clientConfig(common))
                .setConsumerGroup(group)
                .setSubscriptionExpressions(Map.of(topic, Driver.filterExpression(sql, tagExpr)))
                .setMessageListener(listener)
                .setConsumptionThreadCount(threads);
        // build() starts the consumer: route of the topic, Settings over Telemetry (which tell FIFO or not),
        // then the assignment scan; it fails when the route or the Settings fail.
        PushConsumer consumer = Driver.runBounded(builder::build, t0 + common.timeout, "consumer startup");
        Boolean fifo = fifo(consumer);
        Map<String, Object> started = Out.event("started");
        started.put("client", Driver.CLIENT);
        started.put("pid", Out.pid());
        started.put("clientId", Driver.clientId(consumer));
        started.put("endpoint", common.endpoint);
        started.put("group", group);
        started.put("topic", topic);
        started.put("expr", sql != null ? sql : tagExpr);
        started.put("fifo", fifo);
        Out.emit(started);
        Out.log("started: endpoint=%s group=%s topic=%s fifo=%s expect=%s", common.endpoint, group, topic, fifo,
                expect);

        String reason = "timeout";
        int code = Driver.EXIT_OK;
        while (true) {
            double now = Driver.now();
            int got;
            Double reached;
            synchronized (state) {
                got = state.succeeded.size();
                reached = state.expectReachedAt;
            }
            if (Driver.stopped()) {
                reason = "signal";
                code = Driver.EXIT_OK;
                break;
            }
            if (reached != null && now - reached >= linger) {
                reason = "expect";
                code = Driver.EXIT_OK;
                break;
            }
            if (now - t0 >= common.timeout) {
                reason = "timeout";
                if (expect != null && reached == null) {
                    Out.log("ERROR: --timeout %.0fs reached with %d/%d bodies consumed", common.timeout, got, expect);
                    code = Driver.EXIT_FAIL;
                }
                break;
            }
            Driver.waitStop(0.05);
        }

        if (state.internalError != null && code == Driver.EXIT_OK) {
            Map<String, Object> ev = Out.event("error");
            ev.put("error", "listener: " + state.internalError);
            Out.emit(ev);
            code = Driver.EXIT_FAIL;
        }
        Driver.shutdownBounded(consumer, "consumer");
        Map<String, Object> summary = Out.event("done");
        synchronized (state) {
            summary.put("reason", reason);
            summary.put("received", state.succeeded.size());
            summary.put("deliveries", state.total);
            summary.put("exitCode", code);
        }
        Out.emit(summary);
        Out.log("%s: reason=%s received=%s deliveries=%s", code == 0 ? "ok" : "FAILED", reason,
                summary.get("received"), summary.get("deliveries"));
        return code;
    }
}
