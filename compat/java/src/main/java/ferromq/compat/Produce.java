package ferromq.compat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.MessageQueueSelector;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;

/**
 * {@code produce --topic T --group G --count N [--mode sync|async|oneway|batch] [--tags A,B]
 * [--keys-prefix K] [--body-prefix msg-] [--delay-level L] [--deliver-after-ms MS] [--props k=v;k2=v2]
 * [--order-key-count K] [--namespace NS] [--send-timeout-ms MS] [--batch-size 16]
 * [--linger S] [--trace] [--tls] [--tls-trust PEM] [--access-key AK --secret-key SK]}. {@code --trace} enables the client's message trace (records sent to
 * {@code RMQ_SYS_TRACE_TOPIC}). {@code --linger S} keeps the producer online (heartbeating) S seconds after the
 * last send, or until SIGTERM, so that tools can see it (mqadmin {@code producerConnection}).
 * One {@code sent} line per message (oneway: no result) or {@code send_error} (sync and async:
 * the client's exception, and for sync the time the send took), then {@code done}.
 * {@code --deliver-after-ms} (5.x only) sets each message's delivery time
 * ({@code Message.setDeliverTimeMs}, property {@code TIMER_DELIVER_MS}); with
 * {@code --recall-first K} (sync mode) messages 0..K-1 are recalled right after their sends
 * ({@code DefaultMQProducer.recallMessage} with the send's recall handle), each printing a
 * {@code recalled} line.
 */
final class Produce {
    private Produce() {}

    static int run(String namesrv, double timeout, Args a) throws Exception {
        String topic = a.req("topic");
        String group = a.req("group");
        int count = a.getInt("count", 1);
        String mode = a.get("mode", "sync");
        String tagList = a.get("tags", "");
        String[] tags = tagList.isEmpty() ? new String[0] : tagList.split(",");
        String keysPrefix = a.get("keys-prefix", null);
        String bodyPrefix = a.get("body-prefix", "msg-");
        int delayLevel = a.getInt("delay-level", 0);
        long deliverAfterMs = a.getInt("deliver-after-ms", -1);
        int recallFirst = a.getInt("recall-first", 0);
        String props = a.get("props", "");
        int orderKeys = a.getInt("order-key-count", 0);
        String namespace = a.get("namespace", null);
        int sendTimeout = a.getInt("send-timeout-ms", 3000);
        int batchSize = a.getInt("batch-size", 16);
        double linger = a.getDouble("linger", 0);
        boolean trace = a.flag("trace");
        boolean tls = Tls.configure(a);
        org.apache.rocketmq.remoting.RPCHook acl = Acl.hook(a);
        a.done();

        DefaultMQProducer p = new DefaultMQProducer(group, acl, trace, null);
        p.setNamesrvAddr(namesrv);
        p.setUseTLS(tls);
        if (namespace != null) {
            p.setNamespace(namespace);
        }
        p.setSendMsgTimeout(sendTimeout);
        p.setInstanceName("java-producer-" + ProcessHandle.current().pid());
        p.start();
        long t0 = System.currentTimeMillis();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        try {
            List<Message> msgs = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                Message m = new Message(topic, (bodyPrefix + i).getBytes(StandardCharsets.UTF_8));
                if (tags.length > 0) {
                    m.setTags(tags[i % tags.length]);
                }
                if (keysPrefix != null) {
                    m.setKeys(keysPrefix + i);
                }
                if (delayLevel > 0) {
                    m.setDelayTimeLevel(delayLevel);
                }
                if (deliverAfterMs >= 0) {
                    // 5.x API (absent from 4.x): called by name so one source builds for both.
                    m.getClass().getMethod("setDeliverTimeMs", long.class)
                            .invoke(m, System.currentTimeMillis() + deliverAfterMs);
                }
                for (String kv : props.split(";")) {
                    int eq = kv.indexOf('=');
                    if (eq > 0) {
                        m.putUserProperty(kv.substring(0, eq), kv.substring(eq + 1));
                    }
                }
                msgs.add(m);
            }
            switch (mode) {
                case "sync" -> {
                    for (int i = 0; i < count; i++) {
                        SendResult r;
                        long sendStart = System.currentTimeMillis();
                        try {
                            if (orderKeys > 0) {
                                int key = i % orderKeys;
                                MessageQueueSelector byKey = (mqs, msg, arg) ->
                                        mqs.get(Math.floorMod((Integer) arg, mqs.size()));
                                r = p.send(msgs.get(i), byKey, key);
                            } else {
                                r = p.send(msgs.get(i));
                            }
                        } catch (Exception e) {
                            // A failed send (a timeout included) is reported, not fatal: the
                            // tests check what the client says and how long it took.
                            var ev = Out.event("send_error");
                            ev.put("i", i);
                            ev.put("error", e.toString());
                            ev.put("elapsedMs", System.currentTimeMillis() - sendStart);
                            Out.emit(ev);
                            failed.incrementAndGet();
                            continue;
                        }
                        sent(i, msgs.get(i), orderKeys > 0 ? "k" + (i % orderKeys) : null, r, ok,
                                failed);
                        if (i < recallFirst) {
                            recall(p, topic, i, r);
                        }
                    }
                }
                case "async" -> {
                    CountDownLatch done = new CountDownLatch(count);
                    for (int i = 0; i < count; i++) {
                        final int n = i;
                        p.send(msgs.get(i), new SendCallback() {
                            @Override
                            public void onSuccess(SendResult r) {
                                sent(n, msgs.get(n), null, r, ok, failed);
                                done.countDown();
                            }

                            @Override
                            public void onException(Throwable e) {
                                var ev = Out.event("send_error");
                                ev.put("i", n);
                                ev.put("error", e.toString());
                                Out.emit(ev);
                                failed.incrementAndGet();
                                done.countDown();
                            }
                        });
                    }
                    if (!done.await((long) (timeout * 1000), TimeUnit.MILLISECONDS)) {
                        Out.log("ERROR: async sends did not all complete within --timeout");
                        return Main.EXIT_FAIL;
                    }
                }
                case "oneway" -> {
                    for (int i = 0; i < count; i++) {
                        p.sendOneway(msgs.get(i));
                        var ev = Out.event("sent");
                        ev.put("i", i);
                        ev.put("status", "ONEWAY");
                        Out.emit(ev);
                        ok.incrementAndGet();
                    }
                }
                case "batch" -> {
                    for (int from = 0; from < count; from += batchSize) {
                        List<Message> batch = msgs.subList(from, Math.min(count, from + batchSize));
                        SendResult r = p.send(batch);
                        for (int i = 0; i < batch.size(); i++) {
                            var ev = Out.event("sent");
                            ev.put("i", from + i);
                            ev.put("status", r.getSendStatus().name());
                            ev.put("queueId", r.getMessageQueue().getQueueId());
                            ev.put("queueOffset", r.getQueueOffset() + i);
                            ev.put("batchMsgIds", r.getMsgId());
                            Out.emit(ev);
                        }
                        if (r.getSendStatus() == SendStatus.SEND_OK) {
                            ok.addAndGet(batch.size());
                        } else {
                            failed.addAndGet(batch.size());
                        }
                    }
                }
                default -> throw new IllegalArgumentException("--mode sync|async|oneway|batch");
            }
            long lingerUntil = System.currentTimeMillis() + (long) (linger * 1000);
            if (linger > 0) {
                Out.emit(Out.event("lingering"));
            }
            while (System.currentTimeMillis() < lingerUntil && !Stop.requested()) {
                Thread.sleep(50);
            }
        } finally {
            p.shutdown();
        }
        var done = Out.event("done");
        done.put("sent", ok.get());
        done.put("failed", failed.get());
        done.put("elapsedMs", System.currentTimeMillis() - t0);
        Out.emit(done);
        return failed.get() == 0 && ok.get() == count ? Main.EXIT_OK : Main.EXIT_FAIL;
    }

    private static void sent(int i, Message m, String orderKey, SendResult r, AtomicInteger ok,
            AtomicInteger failed) {
        var ev = Out.event("sent");
        ev.put("i", i);
        ev.put("body", new String(m.getBody(), StandardCharsets.UTF_8));
        ev.put("tags", m.getTags());
        ev.put("keys", m.getKeys());
        ev.put("orderKey", orderKey);
        ev.put("msgId", r.getMsgId());
        ev.put("offsetMsgId", r.getOffsetMsgId());
        ev.put("status", r.getSendStatus().name());
        ev.put("topic", r.getMessageQueue().getTopic());
        ev.put("brokerName", r.getMessageQueue().getBrokerName());
        ev.put("queueId", r.getMessageQueue().getQueueId());
        ev.put("queueOffset", r.getQueueOffset());
        Out.emit(ev);
        if (r.getSendStatus() == SendStatus.SEND_OK) {
            ok.incrementAndGet();
        } else {
            failed.incrementAndGet();
        }
    }

    /** 5.x API (absent from 4.x), called by name so one source builds for both lines. */
    private static void recall(DefaultMQProducer p, String topic, int i, SendResult r)
            throws Exception {
        String handle = (String) r.getClass().getMethod("getRecallHandle").invoke(r);
        Object id = p.getClass().getMethod("recallMessage", String.class, String.class)
                .invoke(p, topic, handle);
        var ev = Out.event("recalled");
        ev.put("i", i);
        ev.put("msgId", String.valueOf(id));
        Out.emit(ev);
    }
}
