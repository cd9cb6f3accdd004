package ferromq.compat;

/**
 * Entry point: {@code java -cp ... ferromq.compat.Main <produce|consume|litepull|transact> --namesrv H:P ...}.
 * Exit 0 success, 1 failed run, 2 bad usage or unreachable name server, 3 watchdog.
 */
public final class Main {
    static final int EXIT_OK = 0;
    static final int EXIT_FAIL = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_WATCHDOG = 3;

    private Main() {}

    public static void main(String[] argv) {
        Out.log("rocketmq-client %s",
                org.apache.rocketmq.common.MQVersion.getVersionDesc(
                        org.apache.rocketmq.common.MQVersion.CURRENT_VERSION));
        if (argv.length == 0) {
            Out.log("usage: Main <produce|consume|litepull|transact> --namesrv HOST:PORT ...");
            System.exit(EXIT_USAGE);
        }
        int code;
        try {
            Args a = new Args(argv, 1);
            String namesrv = a.req("namesrv");
            double timeout = a.getDouble("timeout", 60);
            Watchdog.start(timeout + 15);
            Watchdog.requireReachable(namesrv);
            Stop.install();
            code = switch (argv[0]) {
                case "produce" -> Produce.run(namesrv, timeout, a);
                case "consume" -> Consume.run(namesrv, timeout, a);
                case "litepull" -> LitePull.run(namesrv, timeout, a);
                case "transact" -> Transact.run(namesrv, timeout, a);
                default -> throw new IllegalArgumentException("unknown command " + argv[0]);
            };
        } catch (IllegalArgumentException e) {
            Out.log("usage: %s", e.getMessage());
            code = EXIT_USAGE;
        } catch (Throwable e) {
            Out.log("ERROR: %s", e);
            e.printStackTrace(System.err);
            var ev = Out.event("error");
            ev.put("error", e.toString());
            Out.emit(ev);
            code = EXIT_FAIL;
        }
        Stop.finished();
        Halt.now(code);
    }
}
