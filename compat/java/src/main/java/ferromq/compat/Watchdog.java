package ferromq.compat;

import java.net.InetSocketAddress;
import java.net.Socket;

/** Bounds a run whatever the client does, and checks the name server before starting it. */
final class Watchdog {
    private Watchdog() {}

    static void start(double seconds) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep((long) (seconds * 1000));
            } catch (InterruptedException e) {
                return;
            }
            Out.log("watchdog: still running after %.0fs, exiting", seconds);
            Out.emit(Out.event("watchdog"));
            Halt.now(Main.EXIT_WATCHDOG);
        }, "watchdog");
        t.setDaemon(true);
        t.start();
    }

    static void requireReachable(String namesrv) {
        String addr = namesrv.split(";")[0];
        int colon = addr.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("--namesrv must be HOST:PORT");
        }
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(addr.substring(0, colon),
                    Integer.parseInt(addr.substring(colon + 1))), 3000);
        } catch (Exception e) {
            Out.log("name server %s is not reachable: %s", namesrv, e);
            Halt.now(Main.EXIT_USAGE);
        }
    }
}
