package ferromq.compat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * {@code litepull --topic T --group G [--assign] [--seek Q:OFFSET[,Q:OFFSET]] [--from first|last]
 * [--auto-commit true|false] [--commit-sync] [--expect N] [--linger S] [--idle-exit S]}.
 * Subscribe mode (default) or assign mode (every queue of the topic, then the seeks);
 * {@code --commit-sync} commits after every poll (auto commit off). One {@code message} line per
 * message, then {@code done}. {@code --linger} keeps polling that long after {@code --expect} is
 * reached, so a message that should not have come is still seen.
 */
final class LitePull {
    private LitePull() {}

    static int run(String namesrv, double timeout, Args a) throws Exception {
        String topic = a.req("topic");
        String group = a.req("group");
        boolean assign = a.flag("assign");
        String seeks = a.get("seek", "");
        String from = a.get("from", "last");
        boolean autoCommit = Boolean.parseBoolean(a.get("auto-commit", "true"));
        boolean commitSync = a.flag("commit-sync");
        int expect = a.getInt("expect", -1);
        double linger = a.getDouble("linger", 0);
        double idleExit = a.getDouble("idle-exit", -1);
        a.done();

        DefaultLitePullConsumer c = new DefaultLitePullConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName("java-litepull-" + ProcessHandle.current().pid());
        c.setAutoCommit(autoCommit && !commitSync);
        c.setPullBatchSize(16);
        c.setConsumeFromWhere(from.equals("first")
                ? ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET
                : ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET);
        if (!assign) {
            c.subscribe(topic, "*");
        }
        c.start();
        if (assign) {
            Collection<MessageQueue> mqs = c.fetchMessageQueues(topic);
            List<MessageQueue> sorted = new ArrayList<>(mqs);
            sorted.sort((x, y) -> Integer.compare(x.getQueueId(), y.getQueueId()));
            c.assign(sorted);
            for (String s : seeks.split(",")) {
                if (s.isEmpty()) {
                    continue;
                }
                String[] qo = s.split(":");
                int q = Integer.parseInt(qo[0]);
                for (MessageQueue mq : sorted) {
                    if (mq.getQueueId() == q) {
                        c.seek(mq, Long.parseLong(qo[1]));
                    }
                }
            }
        }
        var started = Out.event("started");
        started.put("client", "java-litepull");
        started.put("group", group);
        Out.emit(started);
        long t0 = System.currentTimeMillis();
        long last = t0;
        long reached = -1;
        Set<String> seen = new HashSet<>();
        String reason = "timeout";
        int code = expect >= 0 ? Main.EXIT_FAIL : Main.EXIT_OK;
        while (System.currentTimeMillis() - t0 < timeout * 1000) {
            List<MessageExt> msgs = c.poll(200);
            for (MessageExt m : msgs) {
                last = System.currentTimeMillis();
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                seen.add(body);
                var ev = Out.event("message");
                ev.put("body", body);
                ev.put("topic", m.getTopic());
                ev.put("queueId", m.getQueueId());
                ev.put("queueOffset", m.getQueueOffset());
                ev.put("msgId", m.getMsgId());
                Out.emit(ev);
            }
            if (commitSync && !msgs.isEmpty()) {
                c.commitSync();
            }
            if (Stop.requested()) {
                // As the other drivers: a stop asked for is a clean end (compat/README.md).
                reason = "signal";
                code = Main.EXIT_OK;
                break;
            }
            if (expect >= 0 && seen.size() >= expect && reached < 0) {
                reached = System.currentTimeMillis();
            }
            if (reached >= 0 && System.currentTimeMillis() - reached >= linger * 1000) {
                reason = "expect";
                code = Main.EXIT_OK;
                break;
            }
            if (idleExit >= 0 && reached < 0 && System.currentTimeMillis() - last >= idleExit * 1000) {
                reason = "idle";
                code = expect >= 0 ? Main.EXIT_FAIL : Main.EXIT_OK;
                break;
            }
        }
        if (commitSync) {
            c.commitSync();
        }
        c.shutdown();
        var done = Out.event("done");
        done.put("reason", reason);
        done.put("received", seen.size());
        done.put("exitCode", code);
        Out.emit(done);
        return code;
    }
}
