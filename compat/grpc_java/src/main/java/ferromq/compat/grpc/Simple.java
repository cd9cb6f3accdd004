package ferromq.compat.grpc;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;

/** The SimpleConsumer: compat/grpc_py/simple_consumer.py, with the Java client. */
final class Simple {
    private Simple() {}

    static final String DESCRIPTION = String.join("\n",
            "SimpleConsumer driven through Maven org.apache.rocketmq:rocketmq-client-java (Apache RocketMQ 5.x client, gRPC).",
            "Options, stdout lines and exit codes are those of compat/grpc_py/simple_consumer.py.",
            "",
            "Receive loop: SimpleConsumer.receive(--batch, --invisible-s) (a long poll of --await-s seconds), then for",
            "each message, in order:",
            "  --change-invisible-s S  on the first delivery of a body, changeInvisibleDuration(msg, S) (the client",
            "                          replaces the message's receipt handle with the new one);",
            "  --no-ack-first K        the first K deliveries of every body are not acknowledged, so they come back",
            "                          after the invisible duration; later deliveries are acknowledged (ack(msg)).",
            "",
            "stdout, one JSON line per delivery (absent fields were not set on the message):",
            "  {\"event\":\"message\",\"body\":...,\"tag\":...,\"keys\":[...],\"props\":{user properties},\"topic\":...,",
            "   \"queueId\":N,\"queueOffset\":N,\"messageId\":...,\"deliveryAttempt\":N,\"messageGroup\":...,\"delivery\":n,",
            "   \"acked\":true|false,\"invisibleChanged\":true,\"ackError\":\"...\",\"bornTimestamp\":ms,\"storeTimestamp\":ms,",
            "   \"deliveryTimestamp\":ms,\"storeHost\":...}",
            "  queueId, queueOffset, storeHost and storeTimestamp come from the received protobuf (the client's",
            "  MessageView does not expose them).",
            "other lines: {\"event\":\"started\",...}, {\"event\":\"receive_error\",\"error\":...} (retried after 1 s),",
            "  {\"event\":\"error\",...}, {\"event\":\"done\",\"reason\":...,\"received\":N,\"deliveries\":N,\"exitCode\":N},",
            "  {\"event\":\"shutdown_timeout\"}.",
            "",
            "Exit conditions:",
            "  --expect N      exit 0 once N distinct bodies were acknowledged (after --linger S more seconds);",
            "                  exit 1 if --timeout comes first.",
            "  --timeout S     end of the run: exit 0 unless --expect was set and not reached (default 60).",
            "  --max-errors K  exit 1 after K receive calls in a row failed (default 3).",
            "  SIGTERM/SIGINT  clean shutdown (NotifyClientTermination), exit 0.",
            "Exit 2: bad usage, unreachable endpoint or client not installed; 3: the watchdog fired.",
            "");

    static Args parser(String prog) {
        Args p = new Args(prog, DESCRIPTION);
        Driver.addCommonArgs(p);
        p.required("topic", "TOPIC", null);
        p.required("group", "GROUP", "consumer group");
        p.value("tag-expr", "TAG_EXPR", "TAG filter: '*' or 'A||B'");
        p.value("sql", "SQL", "SQL92 filter instead of --tag-expr");
        p.value("expect", "EXPECT", "exit 0 after N distinct bodies acknowledged");
        p.value("linger", "LINGER", "keep consuming S seconds after --expect");
        p.value("batch", "BATCH", "max messages per receive");
        p.value("invisible-s", "INVISIBLE_S", "invisible duration of received messages, s");
        p.value("await-s", "AWAIT_S", "long-polling time of a receive, s");
        p.value("no-ack-first", "NO_ACK_FIRST", "do not ack the first K deliveries of a body");
        p.value("change-invisible-s", "CHANGE_INVISIBLE_S", "changeInvisibleDuration(S) on the first delivery of a body");
        p.value("max-errors", "MAX_ERRORS", "exit 1 after K failed receives in a row");
        return p;
    }

    private static final class State {
        final Map<String, Integer> deliveries = new HashMap<>();
        final Set<String> acked = new HashSet<>();
        int total;
        Double expectReachedAt;
        volatile String fatal;
    }

    static int run(String prog, String[] argv) {
        Out.setName("grpc-simple-consumer");
        Args p = parser(prog);
        p.parse(argv, 1);
        Driver.Common common = Driver.common(p);
        String topic = p.str("topic", null);
        String group = p.str("group", null);
        String tagExpr = p.str("tag-expr", "*");
        String sql = p.str("sql", null);
        Integer expect = p.intOpt("expect", null);
        double linger = p.floatOpt("linger", 0.0);
        int batch = p.intOpt("batch", 16);
        int invisibleS = p.intOpt("invisible-s", 15);
        int awaitS = p.intOpt("await-s", 5);
        int noAckFirst = p.intOpt("no-ack-first", 0);
        Integer changeInvisibleS = p.intOpt("change-invisible-s", null);
        int maxErrors = p.intOpt("max-errors", 3);
        if (expect != null && expect < 0) {
            throw p.error("--expect must be >= 0");
        }
        if (batch < 1 || invisibleS < 1 || awaitS < 1 || maxErrors < 1) {
            throw p.error("--batch, --invisible-s, --await-s and --max-errors must be >= 1");
        }
        if (noAckFirst < 0) {
            throw p.error("--no-ack-first must be >= 0");
        }
        if (changeInvisibleS != null && changeInvisibleS < 1) {
            throw p.error("--change-invisible-s must be >= 1");
        }

        Driver.startWatchdog(common.timeout + Driver.WATCHDOG_EXTRA, "simple consumer");
        Driver.preflight(common.endpoint);
        Driver.importClient(common);

        double t0 = Driver.now();
        Driver.installStopSignals();
        State state = new State();

        ClientServiceProvider provider = ClientServiceProvider.loadService();
        var builder = provider.newSimpleConsumerBuilder()
                .setClientConfiguration(Driver.clientConfig(common))
                .setConsumerGroup(group)
                .setSubscriptionExpressions(Map.of(topic, Driver.filterExpression(sql, tagExpr)))
                .setAwaitDuration(Duration.ofSeconds(awaitS));
        // build() starts the consumer: route of the topic, Settings over Telemetry; fails when either fails.
        SimpleConsumer consumer = Driver.runBounded(builder::build, t0 + common.timeout, "consumer startup");
        Map<String, Object> started = Out.event("started");
        started.put("client", Driver.CLIENT);
        started.put("pid", Out.pid());
        started.put("clientId", Driver.clientId(consumer));
        started.put("endpoint", common.endpoint);
        started.put("group", group);
        started.put("topic", topic);
        started.put("expr", sql != null ? sql : tagExpr);
        Out.emit(started);
        Out.log("started: endpoint=%s group=%s topic=%s expect=%s", common.endpoint, group, topic, expect);

        Runnable receiveLoop = () -> {
            int failures = 0;
            while (!Driver.stopped()) {
                List<MessageView> messages;
                try {
                    messages = consumer.receive(batch, Duration.ofSeconds(invisibleS));
                } catch (Throwable e) {
                    if (Driver.stopped()) {
                        return;
                    }
                    failures++;
                    Out.log("receive failed (%d in a row): %s", failures, Driver.errorText(e));
                    Map<String, Object> ev = Out.event("receive_error");
                    ev.put("error", Driver.errorText(e));
                    Out.emit(ev);
                    if (failures >= maxErrors) {
                        state.fatal = failures + " receives in a row failed, last: " + Driver.errorText(e);
                        return;
                    }
                    Driver.waitStop(1.0);
                    continue;
                }
                failures = 0;
                for (MessageView msg : messages == null ? List.<MessageView>of() : messages) {
                    try {
                        handle(consumer, msg, state, expect, noAckFirst, changeInvisibleS);
                    } catch (Throwable e) {
                        state.fatal = "handling a message failed: " + Driver.errorText(e);
                        return;
                    }
                }
            }
        };
        // receive() blocks up to --await-s + --request-timeout; a thread keeps SIGTERM and --timeout prompt.
        Thread worker = new Thread(receiveLoop, "receive");
        worker.setDaemon(true);
        worker.start();

        String reason = "timeout";
        int code = Driver.EXIT_OK;
        while (true) {
            double now = Driver.now();
            int got;
            Double reached;
            synchronized (state) {
                got = state.acked.size();
                reached = state.expectReachedAt;
            }
            if (state.fatal != null) {
                Out.log("ERROR: %s", state.fatal);
                Map<String, Object> ev = Out.event("error");
                ev.put("error", state.fatal);
                Out.emit(ev);
                reason = "error";
                code = Driver.EXIT_FAIL;
                break;
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
                    Out.log("ERROR: --timeout %.0fs reached with %d/%d bodies acknowledged", common.timeout, got, expect);
                    code = Driver.EXIT_FAIL;
                }
                break;
            }
            Driver.waitStop(0.05);
        }

        Driver.requestStop();
        Driver.shutdownBounded(consumer, "consumer");
        Map<String, Object> summary = Out.event("done");
        synchronized (state) {
            summary.put("reason", reason);
            summary.put("received", state.acked.size());
            summary.put("deliveries", state.total);
            summary.put("exitCode", code);
        }
        Out.emit(summary);
        Out.log("%s: reason=%s received=%s deliveries=%s", code == 0 ? "ok" : "FAILED", reason,
                summary.get("received"), summary.get("deliveries"));
        return code;
    }

    private static void handle(SimpleConsumer consumer, MessageView msg, State state, Integer expect, int noAckFirst,
            Integer changeInvisibleS) {
        // The wire fields first: changeInvisibleDuration replaces the receipt handle they are keyed by.
        Map<String, Object> wire = Tap.lookup(msg);
        String body = Driver.text(msg.getBody());
        int n;
        synchronized (state) {
            n = state.deliveries.getOrDefault(body, 0) + 1;
            state.deliveries.put(body, n);
            state.total++;
        }
        Map<String, Object> extra = new java.util.LinkedHashMap<>();
        if (changeInvisibleS != null && n == 1) {
            try {
                consumer.changeInvisibleDuration(msg, Duration.ofSeconds(changeInvisibleS));
                extra.put("invisibleChanged", true);
            } catch (Throwable e) {
                extra.put("invisibleChanged", false);
                extra.put("changeInvisibleError", Driver.errorText(e));
            }
        }
        boolean acked = false;
        if (n > noAckFirst) {
            try {
                consumer.ack(msg);
                acked = true;
            } catch (Throwable e) {
                extra.put("ackError", Driver.errorText(e));
            }
        }
        if (acked) {
            synchronized (state) {
                state.acked.add(body);
                if (expect != null && state.expectReachedAt == null && state.acked.size() >= expect) {
                    state.expectReachedAt = Driver.now();
                }
            }
        }
        Map<String, Object> line = Driver.messageLine(msg, n, acked, wire);
        line.putAll(extra);
        Out.emit(line);
    }
}
