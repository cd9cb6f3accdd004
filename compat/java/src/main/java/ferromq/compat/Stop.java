package ferromq.compat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * SIGTERM (the harness's {@code stop}) ends a run the way an application ends: the run loop sees
 * {@link #requested()}, shuts the client down (offsets persisted, client unregistered, so the
 * rest of the group takes over from the committed offsets) and reports {@code done}. The JVM
 * exits as soon as its shutdown hooks return, so the hook waits for that.
 */
final class Stop {
    private Stop() {}

    private static volatile boolean requested;
    private static final CountDownLatch FINISHED = new CountDownLatch(1);

    static void install() {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            requested = true;
            try {
                FINISHED.await(12, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "stop-on-sigterm"));
    }

    static boolean requested() {
        return requested;
    }

    /** Called once the run has shut its client down and reported. */
    static void finished() {
        FINISHED.countDown();
    }
}
