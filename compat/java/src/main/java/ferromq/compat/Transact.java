package ferromq.compat;

import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * {@code transact --topic T --group G --count N [--body-prefix tx-]
 * [--local commit,rollback,unknown] [--check commit,rollback] [--expect-checks K]
 * [--linger S] [--heartbeat-ms MS]}.
 *
 * <p>A {@link TransactionMQProducer} sends N half messages. Message {@code i}'s local transaction
 * answers {@code local[i % n]}; a check-back about message {@code i} answers {@code check[i % m]}
 * (default: unknown, so the broker keeps asking). One {@code sent} line per message, one
 * {@code check} line per check-back. The run ends once K distinct messages were answered by a
 * check-back with commit or rollback (exit 1 if {@code --timeout} comes first), or, without
 * {@code --expect-checks}, after {@code --linger} seconds (default 0). Then {@code done}.
 */
final class Transact {
    private Transact() {}

    static int run(String namesrv, double timeout, Args a) throws Exception {
        String topic = a.req("topic");
        String group = a.req("group");
        int count = a.getInt("count", 1);
        String prefix = a.get("body-prefix", "tx-");
        LocalTransactionState[] local = states(a.get("local", "commit"));
        LocalTransactionState[] check = states(a.get("check", "unknown"));
        int expectChecks = a.getInt("expect-checks", 0);
        double linger = a.getDouble("linger", 0);
        int heartbeatMs = a.getInt("heartbeat-ms", 1000);
        a.done();

        Set<String> resolvedByCheck = ConcurrentHashMap.newKeySet();
        Map<String, Integer> checksPerBody = new ConcurrentHashMap<>();
        TransactionMQProducer p = new TransactionMQProducer(group);
        p.setNamesrvAddr(namesrv);
        p.setInstanceName("java-tx-producer-" + ProcessHandle.current().pid());
        // Check-backs only reach producers the broker knows from a heartbeat: send them often,
        // so a restarted broker learns of this producer within a second.
        p.setHeartbeatBrokerInterval(heartbeatMs);
        p.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return local[(Integer) arg % local.length];
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                String body = new String(msg.getBody(), StandardCharsets.UTF_8);
                int i = index(body, prefix);
                LocalTransactionState answer = i < 0 ? LocalTransactionState.UNKNOW
                        : check[i % check.length];
                int n = checksPerBody.merge(body, 1, Integer::sum);
                var ev = Out.event("check");
                ev.put("body", body);
                ev.put("topic", msg.getTopic());
                ev.put("queueId", msg.getQueueId());
                ev.put("transactionId", msg.getTransactionId());
                ev.put("msgId", msg.getMsgId());
                ev.put("checkTimes", msg.getProperty("TRANSACTION_CHECK_TIMES"));
                ev.put("delivery", n);
                ev.put("answer", answer.name());
                Out.emit(ev);
                if (answer != LocalTransactionState.UNKNOW) {
                    resolvedByCheck.add(body);
                }
                return answer;
            }
        });
        p.start();
        long t0 = System.currentTimeMillis();
        int sent = 0;
        try {
            for (int i = 0; i < count; i++) {
                Message m = new Message(topic, (prefix + i).getBytes(StandardCharsets.UTF_8));
                TransactionSendResult r = p.sendMessageInTransaction(m, i);
                var ev = Out.event("sent");
                ev.put("i", i);
                ev.put("body", prefix + i);
                ev.put("status", r.getSendStatus().name());
                ev.put("local", r.getLocalTransactionState().name());
                ev.put("msgId", r.getMsgId());
                ev.put("offsetMsgId", r.getOffsetMsgId());
                ev.put("transactionId", r.getTransactionId());
                ev.put("queueId", r.getMessageQueue().getQueueId());
                ev.put("queueOffset", r.getQueueOffset());
                Out.emit(ev);
                sent++;
            }
            heartbeatNow(p);
            long deadline = t0 + (long) (timeout * 1000);
            if (expectChecks > 0) {
                while (resolvedByCheck.size() < expectChecks && !Stop.requested()
                        && System.currentTimeMillis() < deadline) {
                    Thread.sleep(50);
                }
                // Let the client send its END_TRANSACTION (oneway) before shutting down.
                Thread.sleep(500);
            }
            long lingerUntil = System.currentTimeMillis() + (long) (linger * 1000);
            while (System.currentTimeMillis() < Math.min(lingerUntil, deadline)
                    && !Stop.requested()) {
                Thread.sleep(50);
            }
        } finally {
            p.shutdown();
        }
        var done = Out.event("done");
        done.put("sent", sent);
        done.put("resolvedByCheck", resolvedByCheck.size());
        done.put("elapsedMs", System.currentTimeMillis() - t0);
        Out.emit(done);
        boolean ok = sent == count && resolvedByCheck.size() >= expectChecks;
        return ok ? Main.EXIT_OK : Main.EXIT_FAIL;
    }

    private static LocalTransactionState[] states(String list) {
        String[] names = list.split(",");
        LocalTransactionState[] out = new LocalTransactionState[names.length];
        for (int i = 0; i < names.length; i++) {
            out[i] = switch (names[i].trim()) {
                case "commit" -> LocalTransactionState.COMMIT_MESSAGE;
                case "rollback" -> LocalTransactionState.ROLLBACK_MESSAGE;
                case "unknown" -> LocalTransactionState.UNKNOW;
                default -> throw new IllegalArgumentException(
                        "transaction states are commit, rollback or unknown, not " + names[i]);
            };
        }
        return out;
    }

    private static int index(String body, String prefix) {
        if (!body.startsWith(prefix)) {
            return -1;
        }
        try {
            return Integer.parseInt(body.substring(prefix.length()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * Sends a heartbeat now rather than at the client's next tick, so the broker can check back
     * at once. The client factory's getter is {@code getmQClientFactory} in 4.x and
     * {@code getMqClientFactory} in 5.x, hence reflection; a failure only delays check-backs.
     */
    private static void heartbeatNow(TransactionMQProducer p) {
        Object impl = p.getDefaultMQProducerImpl();
        for (String getter : new String[] {"getMqClientFactory", "getmQClientFactory"}) {
            try {
                Method g = impl.getClass().getMethod(getter);
                Object factory = g.invoke(impl);
                factory.getClass().getMethod("sendHeartbeatToAllBrokerWithLock").invoke(factory);
                return;
            } catch (ReflectiveOperationException e) {
                // try the other name
            }
        }
        Out.log("no immediate heartbeat (client API changed); check-backs wait for the next one");
    }
}
