package ferromq.compat.grpc;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.message.MessageBuilder;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.ProducerBuilder;
import org.apache.rocketmq.client.apis.producer.SendReceipt;
import org.apache.rocketmq.client.apis.producer.Transaction;
import org.apache.rocketmq.client.apis.producer.TransactionChecker;
import org.apache.rocketmq.client.apis.producer.TransactionResolution;
import org.apache.rocketmq.client.java.impl.producer.SendReceiptImpl;
import org.apache.rocketmq.client.java.route.MessageQueueImpl;

/** The producer: compat/grpc_py/producer.py, with the Java client. */
final class Produce {
    private Produce() {}

    static final String DESCRIPTION = String.join("\n",
            "Producer driven through Maven org.apache.rocketmq:rocketmq-client-java (Apache RocketMQ 5.x client, gRPC).",
            "Options, stdout lines and exit codes are those of compat/grpc_py/producer.py.",
            "",
            "Sends --count messages synchronously (Producer.send), one after the other.  Message i gets",
            "  body <body-prefix>-<i> (default prefix \"msg\"), tag tags[i % len(tags)] (--tag A,B; none by default),",
            "  keys from --keys (comma separated, \"{i}\" replaced by i), user properties from --prop k=v (repeatable,",
            "  \"{i}\" replaced by i in the value).",
            "--kind (default normal) picks the message type the client derives from the message:",
            "  fifo         message group --message-group (default \"group\"); --groups N spreads message i over the",
            "               groups <message-group>-<i % N>.",
            "  delay        delivery timestamp now + --delay-ms (required), in milliseconds (the Java client",
            "               sends the exact value).",
            "  transaction  a producer with a TransactionChecker, beginTransaction(), send(msg, transaction), then",
            "               per flag commit() (--tx-commit, default), rollback() (--tx-rollback), or nothing",
            "               (--tx-unknown: the broker checks back; the TransactionChecker answers --check-answer,",
            "               default commit, and prints {\"event\":\"check\",...}).  Use --linger S to stay up for checks.",
            "",
            "stdout: {\"event\":\"started\",...}, one {\"event\":\"sent\",\"i\":0,\"body\":\"msg-0\",\"messageId\":\"...\",\"offset\":N,",
            "  \"queueId\":N,\"broker\":\"...\",\"tag\":...,\"keys\":[...],\"messageGroup\":...,\"deliveryTimestamp\":ms,",
            "  \"transactionId\":...,\"resolution\":...,\"recallHandle\":...,\"clientMessageId\":...} per message (absent",
            "  fields were not set), then {\"event\":\"done\",\"sent\":N,\"elapsedMs\":...}.  On failure",
            "  {\"event\":\"error\",\"i\":i,\"error\":\"...\"}, exit 1.  Also {\"event\":\"lingering\",\"seconds\":S}, {\"event\":\"check\",...}.",
            "Exit 0 when every message was sent (and its transaction ended as asked), 1 on a failed send, 2 on bad",
            "usage / unreachable endpoint / client not installed, 3 when the watchdog fired.  SIGTERM/SIGINT during",
            "--linger: clean shutdown, exit 0.",
            "");

    static Args parser(String prog) {
        Args p = new Args(prog, DESCRIPTION);
        Driver.addCommonArgs(p);
        p.required("topic", "TOPIC", null);
        p.value("count", "COUNT", "number of messages (default 1)");
        p.value("body-prefix", "BODY_PREFIX", "message i gets body <prefix>-<i>");
        p.value("tag", "TAG", "tag, or comma separated tags assigned round-robin");
        p.value("keys", "KEYS", "comma separated keys; {i} is replaced by the message index");
        p.append("prop", "K=V", "user property (repeatable); {i} in V is replaced by the message index");
        p.value("kind", "{normal,fifo,delay,transaction}", null);
        p.value("message-group", "MESSAGE_GROUP", "fifo: the message group");
        p.value("groups", "GROUPS", "fifo: spread over N groups <message-group>-<i % N>");
        p.value("delay-ms", "DELAY_MS", "delay: deliver this long after sending");
        p.exclusiveConst("tx", "tx-commit", "tx", "commit", "default");
        p.exclusiveConst("tx", "tx-rollback", "tx", "rollback", null);
        p.exclusiveConst("tx", "tx-unknown", "tx", "unknown", "end no transaction: leave it to the broker's check-back");
        p.value("check-answer", "{commit,rollback}", "transaction: what the TransactionChecker answers a check-back");
        p.value("linger", "LINGER", "stay up S seconds after the sends (heartbeats, transaction check-backs)");
        return p;
    }

    private static final class Opts {
        Driver.Common common;
        String topic;
        int count;
        String bodyPrefix;
        List<String> tags = new ArrayList<>();
        List<String> keyList = new ArrayList<>();
        List<String[]> props = new ArrayList<>();
        String kind;
        String messageGroup;
        Integer groups;
        Integer delayMs;
        String tx;
        String checkAnswer;
        double linger;
    }

    private static List<String> csv(String value) {
        List<String> out = new ArrayList<>();
        for (String s : value.split(",", -1)) {
            String t = s.strip();
            if (!t.isEmpty()) {
                out.add(t);
            }
        }
        return out;
    }

    private static Opts parseArgs(Args p, String[] argv) {
        p.parse(argv, 1);
        Opts o = new Opts();
        o.common = Driver.common(p);
        o.topic = p.str("topic", null);
        o.count = p.intOpt("count", 1);
        o.bodyPrefix = p.str("body-prefix", "msg");
        o.kind = p.choice("kind", "normal", "normal", "fifo", "delay", "transaction");
        o.messageGroup = p.str("message-group", "group");
        o.groups = p.intOpt("groups", null);
        o.delayMs = p.intOpt("delay-ms", null);
        o.tx = p.str("tx", null);
        o.checkAnswer = p.choice("check-answer", "commit", "commit", "rollback");
        o.linger = p.floatOpt("linger", 0.0);
        if (o.count < 0) {
            throw p.error("--count must be >= 0");
        }
        if (!o.kind.equals("fifo") && o.groups != null) {
            throw p.error("--groups needs --kind fifo");
        }
        if (o.groups != null && o.groups < 1) {
            throw p.error("--groups must be >= 1");
        }
        if (o.kind.equals("delay") != (o.delayMs != null)) {
            throw p.error("--kind delay and --delay-ms go together");
        }
        if (o.delayMs != null && o.delayMs < 0) {
            throw p.error("--delay-ms must be >= 0");
        }
        if (o.tx != null && !o.kind.equals("transaction")) {
            throw p.error("--tx-* need --kind transaction");
        }
        if (o.tx == null) {
            o.tx = "commit";
        }
        for (String item : p.list("prop")) {
            int eq = item.indexOf('=');
            if (eq <= 0) {
                throw p.error("--prop wants K=V, got '" + item + "'");
            }
            o.props.add(new String[] {item.substring(0, eq), item.substring(eq + 1)});
        }
        o.tags = csv(p.str("tag", ""));
        o.keyList = csv(p.str("keys", ""));
        return o;
    }

    /** The message i and the start of its "sent" line. */
    private static Message buildMessage(ClientServiceProvider provider, Opts o, int i, Map<String, Object> line) {
        MessageBuilder mb = provider.newMessageBuilder().setTopic(o.topic);
        String body = o.bodyPrefix + "-" + i;
        mb.setBody(body.getBytes(StandardCharsets.UTF_8));
        line.put("event", "sent");
        line.put("i", i);
        line.put("body", body);
        if (!o.tags.isEmpty()) {
            String tag = o.tags.get(i % o.tags.size());
            mb.setTag(tag);
            line.put("tag", tag);
        }
        List<String> keys = new ArrayList<>();
        for (String k : o.keyList) {
            keys.add(k.replace("{i}", Integer.toString(i)));
        }
        if (!keys.isEmpty()) {
            mb.setKeys(keys.toArray(new String[0]));
            line.put("keys", keys);
        }
        for (String[] kv : o.props) {
            mb.addProperty(kv[0], kv[1].replace("{i}", Integer.toString(i)));
        }
        if (o.kind.equals("fifo")) {
            String group = o.groups == null ? o.messageGroup : o.messageGroup + "-" + (i % o.groups);
            mb.setMessageGroup(group);
            line.put("messageGroup", group);
        } else if (o.kind.equals("delay")) {
            long at = System.currentTimeMillis() + o.delayMs;
            mb.setDeliveryTimestamp(at);
            line.put("deliveryTimestamp", at);
        }
        return mb.build();
    }

    private static void receiptFields(SendReceipt receipt, Map<String, Object> line) {
        String id = receipt.getMessageId().toString();
        line.put("messageId", id);
        SendReceiptImpl impl = receipt instanceof SendReceiptImpl r ? r : null;
        line.put("offset", impl == null ? 0L : impl.getOffset());
        List<String> sentIds = Tap.lastSentIds();
        if (sentIds.size() == 1 && !sentIds.get(0).isEmpty() && !sentIds.get(0).equals(id)) {
            line.put("clientMessageId", sentIds.get(0));
        }
        if (impl != null) {
            MessageQueueImpl mq = impl.getMessageQueue();
            if (mq != null) {
                line.put("queueId", mq.getQueueId());
                line.put("broker", mq.getBroker().getName());
            }
            String txId = impl.getTransactionId();
            if (txId != null && !txId.isEmpty()) {
                line.put("transactionId", txId);
            }
        }
        String recall = receipt.getRecallHandle();
        if (recall != null && !recall.isEmpty()) {
            line.put("recallHandle", recall);
        }
    }

    static int run(String prog, String[] argv) {
        Out.setName("grpc-producer");
        Args p = parser(prog);
        Opts o = parseArgs(p, argv);
        Driver.startWatchdog(o.common.timeout + Driver.WATCHDOG_EXTRA, "producer");
        Driver.preflight(o.common.endpoint);
        Driver.importClient(o.common);

        double t0 = Driver.now();
        double deadline = t0 + o.common.timeout;
        Driver.installStopSignals();

        ClientServiceProvider provider = ClientServiceProvider.loadService();
        TransactionChecker checker = null;
        if (o.kind.equals("transaction")) {
            TransactionResolution answer = o.checkAnswer.equals("commit")
                    ? TransactionResolution.COMMIT : TransactionResolution.ROLLBACK;
            checker = message -> {
                Map<String, Object> ev = Out.event("check");
                ev.put("body", Driver.text(message.getBody()));
                ev.put("messageId", message.getMessageId().toString());
                ev.put("topic", message.getTopic());
                ev.put("answer", o.checkAnswer);
                Out.emit(ev);
                return answer;
            };
        }
        ProducerBuilder builder = provider.newProducerBuilder()
                .setClientConfiguration(Driver.clientConfig(o.common))
                .setTopics(o.topic);
        if (checker != null) {
            builder.setTransactionChecker(checker);
        }
        // build() starts the producer: it queries the topic's route and waits for the Settings of
        // each route endpoint (Telemetry); it fails when either fails.
        Producer producer = Driver.runBounded(builder::build, deadline, "producer startup");
        Map<String, Object> started = Out.event("started");
        started.put("client", Driver.CLIENT);
        started.put("pid", Out.pid());
        started.put("clientId", Driver.clientId(producer));
        started.put("endpoint", o.common.endpoint);
        started.put("topic", o.topic);
        started.put("kind", o.kind);
        Out.emit(started);
        Out.log("started: endpoint=%s topic=%s kind=%s count=%d", o.common.endpoint, o.topic, o.kind, o.count);

        int[] code = {Driver.EXIT_OK};
        int[] sent = {0};
        Runnable sendAll = () -> {
            for (int i = 0; i < o.count; i++) {
                if (Driver.stopped()) {
                    code[0] = Driver.EXIT_FAIL;
                    Map<String, Object> ev = Out.event("error");
                    ev.put("i", i);
                    ev.put("error", "stopped by a signal");
                    Out.emit(ev);
                    return;
                }
                Map<String, Object> line = new LinkedHashMap<>();
                SendReceipt receipt;
                try {
                    Message msg = buildMessage(provider, o, i, line);
                    Tap.clearSent();
                    if (o.kind.equals("transaction")) {
                        Transaction tx = producer.beginTransaction();
                        receipt = producer.send(msg, tx);
                        if (o.tx.equals("commit")) {
                            tx.commit();
                        } else if (o.tx.equals("rollback")) {
                            tx.rollback();
                        }
                        line.put("resolution", o.tx);
                    } else {
                        receipt = producer.send(msg);
                    }
                } catch (Throwable e) {
                    Out.log("ERROR: send of message %d failed: %s", i, Driver.errorText(e));
                    Map<String, Object> ev = Out.event("error");
                    ev.put("i", i);
                    ev.put("error", Driver.errorText(e));
                    Out.emit(ev);
                    code[0] = Driver.EXIT_FAIL;
                    return;
                }
                receiptFields(receipt, line);
                Out.emit(line);
                synchronized (sent) {
                    sent[0]++;
                }
            }
        };
        // Each send is bounded by the client (--request-timeout per attempt, up to 3 attempts); the
        // worker thread keeps --timeout exact whatever the client does.
        Thread worker = new Thread(sendAll, "send");
        worker.setDaemon(true);
        worker.start();
        try {
            worker.join(Math.max(1, (long) ((deadline - Driver.now()) * 1000)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (worker.isAlive()) {
            int n;
            synchronized (sent) {
                n = sent[0];
            }
            Out.log("ERROR: --timeout %.0fs reached while a send was still running (%d/%d sent)",
                    o.common.timeout, n, o.count);
            Map<String, Object> ev = Out.event("error");
            ev.put("error", "timeout: send blocked after " + n + "/" + o.count);
            Out.emit(ev);
            Map<String, Object> done = Out.event("done");
            done.put("sent", n);
            done.put("elapsedMs", (long) ((Driver.now() - t0) * 1000));
            Out.emit(done);
            Driver.hardExit(Driver.EXIT_FAIL);
        }

        if (code[0] == Driver.EXIT_OK && o.linger > 0) {
            Map<String, Object> ev = Out.event("lingering");
            ev.put("seconds", o.linger);
            Out.emit(ev);
            Driver.waitStop(Math.max(0.0, Math.min(o.linger, deadline - Driver.now())));
        }

        Driver.shutdownBounded(producer, "producer");
        long elapsed = (long) ((Driver.now() - t0) * 1000);
        Map<String, Object> done = Out.event("done");
        done.put("sent", sent[0]);
        done.put("elapsedMs", elapsed);
        Out.emit(done);
        Out.log("%s: sent %d/%d in %d ms", code[0] == 0 ? "ok" : "FAILED", sent[0], o.count, elapsed);
        return code[0];
    }
}
