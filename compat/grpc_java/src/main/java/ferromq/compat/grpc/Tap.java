package ferromq.compat.grpc;

import apache.rocketmq.v2.Message;
import apache.rocketmq.v2.ReceiveMessageResponse;
import apache.rocketmq.v2.SendMessageRequest;
import apache.rocketmq.v2.SystemProperties;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.shaded.com.google.protobuf.util.Timestamps;

/**
 * What the client's MessageView and SendReceipt do not expose, read from the wire.
 *
 * <p>The client's MessageView has no queue id, store host or store timestamp, and its queue offset
 * reads 0 when the server left it out; the message queue it carries is the one the receive was sent
 * to (ferromq pops from every queue of the topic). And the message id the producer generated is not
 * on the Message. Every gRPC call of the client goes through its own
 * {@code org.apache.rocketmq.client.java.rpc.LoggingInterceptor}, which logs each request and each
 * response message at TRACE with the protobuf object as the last argument; {@link ClientLog} hands
 * those arguments to the Tap (whatever the log level). Nothing in the client is replaced or wrapped.
 * The interceptor logs a response before the client's own listener sees it, so the entry of a
 * delivery exists when the message reaches the driver.
 */
final class Tap {
    private Tap() {}

    /** By receipt handle (one per delivery), and by message id as a fallback. */
    private static final Map<String, Map<String, Object>> BY_HANDLE = new ConcurrentHashMap<>();
    private static final Map<String, Map<String, Object>> BY_ID = new ConcurrentHashMap<>();
    private static volatile List<String> lastSentIds = Collections.emptyList();
    private static volatile boolean installed;

    static void install() {
        installed = true;
        ClientLog.enableTap();
    }

    /** The arguments of a TRACE call of the client's LoggingInterceptor. */
    static void onTrace(Object[] args) {
        if (args.length == 0) {
            return;
        }
        Object last = args[args.length - 1];
        try {
            if (last instanceof ReceiveMessageResponse r && r.hasMessage()) {
                record(r.getMessage());
            } else if (last instanceof SendMessageRequest req) {
                List<String> ids = new ArrayList<>();
                for (Message m : req.getMessagesList()) {
                    ids.add(m.getSystemProperties().getMessageId());
                }
                lastSentIds = ids;
            }
        } catch (Throwable t) {
            Out.log("warning: tap: %s", Driver.errorText(t));
        }
    }

    private static void record(Message m) {
        SystemProperties sp = m.getSystemProperties();
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("queueId", sp.getQueueId());
        info.put("queueOffset", sp.hasQueueOffset() ? sp.getQueueOffset() : null);
        info.put("storeHost", sp.getStoreHost().isEmpty() ? null : sp.getStoreHost());
        info.put("storeTimestamp", sp.hasStoreTimestamp() ? Timestamps.toMillis(sp.getStoreTimestamp()) : null);
        if (!sp.getReceiptHandle().isEmpty()) {
            BY_HANDLE.put(sp.getReceiptHandle(), info);
        }
        BY_ID.put(sp.getMessageId(), info);
    }

    /** The wire fields of a received message (see {@link Driver#messageLine}), or null. */
    static Map<String, Object> lookup(org.apache.rocketmq.client.apis.message.MessageView view) {
        Map<String, Object> info = null;
        if (view instanceof org.apache.rocketmq.client.java.message.MessageViewImpl impl) {
            info = BY_HANDLE.remove(impl.getReceiptHandle());
        }
        if (info == null) {
            info = BY_ID.get(view.getMessageId().toString());
        }
        if (info == null && installed) {
            Out.log("warning: no wire record of message %s: queueId/queueOffset/storeHost/storeTimestamp left out",
                    view.getMessageId());
        }
        return info;
    }

    /** Clears the ids of the last SendMessageRequest (before a send). */
    static void clearSent() {
        lastSentIds = Collections.emptyList();
    }

    /** The message ids the client generated for the last SendMessageRequest it wrote. */
    static List<String> lastSentIds() {
        return lastSentIds;
    }
}
