package ferromq.compat;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * {@code consume --topic T --group G [--expr '*'|'A||B'] [--sql "a > 5"] [--orderly] [--broadcast]
 * [--from first|last|timestamp:yyyyMMddHHmmss] [--expect N] [--linger S] [--idle-exit S]
 * [--fail-first-times K] [--max-reconsume N] [--instance NAME] [--namespace NS]
 * [--persist-interval-ms MS] [--trace] [--pop] [--tls] [--tls-trust PEM] [--access-key AK --secret-key SK]}.
 * One {@code message} line per delivery (as compat/cpp/consumer.py), then {@code done}.
 * {@code --pop} (5.x only) lets the broker assign queues ({@code clientRebalance=false}): a group
 * an operator set to POP ({@code mqadmin setConsumeMode -m POP}) then pops and acks.
 */
final class Consume {
    private Consume() {}

    private static final class State {
        final Map<String, Integer> deliveries = new HashMap<>();
        final Set<String> succeeded = new HashSet<>();
        int total;
        long lastDelivery = System.currentTimeMillis();
        long expectReachedAt = -1;
    }

    static int run(String namesrv, double timeout, Args a) throws Exception {
        String topic = a.req("topic");
        String group = a.req("group");
        String expr = a.get("expr", "*");
        String sql = a.get("sql", null);
        boolean orderly = a.flag("orderly");
        boolean broadcast = a.flag("broadcast");
        String from = a.get("from", "last");
        int expect = a.getInt("expect", -1);
        double linger = a.getDouble("linger", 0);
        double idleExit = a.getDouble("idle-exit", -1);
        int failFirst = a.getInt("fail-first-times", 0);
        int maxReconsume = a.getInt("max-reconsume", -1);
        String instance = a.get("instance", "java-consumer-" + ProcessHandle.current().pid());
        String namespace = a.get("namespace", null);
        int persistMs = a.getInt("persist-interval-ms", 1000);
        boolean trace = a.flag("trace");
        boolean tls = Tls.configure(a);
        org.apache.rocketmq.remoting.RPCHook acl = Acl.hook(a);
        boolean pop = a.flag("pop");
        a.done();

        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group, acl,
                new org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely(), trace, null);
        c.setNamesrvAddr(namesrv);
        c.setUseTLS(tls);
        c.setInstanceName(instance);
        if (namespace != null) {
            c.setNamespace(namespace);
        }
        c.setPersistConsumerOffsetInterval(persistMs);
        c.setConsumeMessageBatchMaxSize(1);
        if (maxReconsume >= 0) {
            c.setMaxReconsumeTimes(maxReconsume);
        }
        if (broadcast) {
            broadcasting(c);
        }
        if (pop) {
            // 5.x only: the 4.x client has no server-side assignment.
            c.getClass().getMethod("setClientRebalance", boolean.class).invoke(c, false);
        }
        if (from.equals("first")) {
            c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        } else if (from.startsWith("timestamp:")) {
            c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_TIMESTAMP);
            c.setConsumeTimestamp(from.substring("timestamp:".length()));
        } else if (from.equals("last")) {
            c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET);
        } else {
            throw new IllegalArgumentException("--from first|last|timestamp:yyyyMMddHHmmss");
        }
        if (sql != null) {
            c.subscribe(topic, MessageSelector.bySql(sql));
        } else {
            c.subscribe(topic, expr);
        }
        State st = new State();
        if (orderly) {
            c.registerMessageListener((MessageListenerOrderly) (msgs, ctx) ->
                    deliver(st, msgs, failFirst, expect, instance)
                            ? ConsumeOrderlyStatus.SUCCESS
                            : ConsumeOrderlyStatus.SUSPEND_CURRENT_QUEUE_A_MOMENT);
        } else {
            c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) ->
                    deliver(st, msgs, failFirst, expect, instance)
                            ? ConsumeConcurrentlyStatus.CONSUME_SUCCESS
                            : ConsumeConcurrentlyStatus.RECONSUME_LATER);
        }
        long t0 = System.currentTimeMillis();
        c.start();
        var started = Out.event("started");
        started.put("client", "java");
        started.put("pid", ProcessHandle.current().pid());
        started.put("instance", instance);
        started.put("group", group);
        started.put("topic", topic);
        Out.emit(started);

        String reason;
        int code;
        while (true) {
            long now = System.currentTimeMillis();
            int got;
            long reached;
            long idleFor;
            synchronized (st) {
                got = st.succeeded.size();
                reached = st.expectReachedAt;
                idleFor = now - Math.max(st.lastDelivery, t0);
            }
            if (Stop.requested()) {
                // As the other drivers: a stop asked for is a clean end (compat/README.md).
                reason = "signal";
                code = Main.EXIT_OK;
                break;
            }
            if (reached >= 0 && now - reached >= linger * 1000) {
                reason = "expect";
                code = Main.EXIT_OK;
                break;
            }
            if (idleExit >= 0 && idleFor >= idleExit * 1000 && reached < 0) {
                reason = "idle";
                code = expect >= 0 ? Main.EXIT_FAIL : Main.EXIT_OK;
                break;
            }
            if (now - t0 >= timeout * 1000) {
                reason = "timeout";
                code = expect >= 0 && reached < 0 ? Main.EXIT_FAIL : Main.EXIT_OK;
                if (code != Main.EXIT_OK) {
                    Out.log("ERROR: --timeout reached with %d/%d messages consumed", got, expect);
                }
                break;
            }
            Thread.sleep(50);
        }
        // Shutdown persists the offsets and unregisters, as an application would.
        c.shutdown();
        var done = Out.event("done");
        synchronized (st) {
            done.put("reason", reason);
            done.put("received", st.succeeded.size());
            done.put("deliveries", st.total);
        }
        done.put("exitCode", code);
        Out.emit(done);
        return code;
    }

    /**
     * MessageModel moved package between 4.x (common.protocol.heartbeat) and 5.x
     * (remoting.protocol.heartbeat): set it through the setter's own parameter type.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void broadcasting(DefaultMQPushConsumer c) throws Exception {
        Class enumType = c.getClass().getMethod("getMessageModel").getReturnType();
        Object value = Enum.valueOf(enumType, "BROADCASTING");
        c.getClass().getMethod("setMessageModel", enumType).invoke(c, value);
    }

    /** Records and prints deliveries; false asks the client to retry them. */
    private static boolean deliver(State st, List<MessageExt> msgs, int failFirst, int expect,
            String instance) {
        boolean allOk = true;
        for (MessageExt m : msgs) {
            String body = new String(m.getBody(), StandardCharsets.UTF_8);
            boolean fail;
            int n;
            synchronized (st) {
                n = st.deliveries.merge(body, 1, Integer::sum);
                st.total++;
                st.lastDelivery = System.currentTimeMillis();
                fail = n <= failFirst && m.getReconsumeTimes() < failFirst;
                if (!fail) {
                    st.succeeded.add(body);
                    if (expect >= 0 && st.expectReachedAt < 0 && st.succeeded.size() >= expect) {
                        st.expectReachedAt = System.currentTimeMillis();
                    }
                }
            }
            allOk &= !fail;
            var ev = Out.event("message");
            ev.put("body", body);
            ev.put("tags", m.getTags());
            ev.put("keys", m.getKeys());
            ev.put("topic", m.getTopic());
            ev.put("queueId", m.getQueueId());
            ev.put("queueOffset", m.getQueueOffset());
            ev.put("storeHost", String.valueOf(m.getStoreHost()).replaceFirst("^.*/", ""));
            ev.put("msgId", m.getMsgId());
            ev.put("reconsumeTimes", m.getReconsumeTimes());
            ev.put("instance", instance);
            ev.put("result", fail ? "retry" : "ok");
            ev.put("delivery", n);
            ev.put("bornTimestamp", m.getBornTimestamp());
            ev.put("storeTimestamp", m.getStoreTimestamp());
            Map<String, Object> props = new HashMap<>(m.getProperties());
            ev.put("props", props);
            Out.emit(ev);
        }
        return allOk;
    }
}
