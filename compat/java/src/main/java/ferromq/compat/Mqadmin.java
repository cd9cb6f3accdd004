package ferromq.compat;

import org.apache.rocketmq.tools.command.MQAdminStartup;

/**
 * Upstream's {@code mqadmin} entry point ({@code MQAdminStartup.main}, the same command code and
 * output), leaving as soon as the command has returned: a plain {@code mqadmin} then spends ~2 s
 * more waiting for its Netty threads' graceful-shutdown quiet period, which the tests (dozens of
 * commands each) do not need to watch. The exit code is upstream's: 0 once the command returns
 * (its failures are printed, as upstream's are), and whatever a command passes to
 * {@code System.exit} itself (upstream's usage errors).
 */
public final class Mqadmin {
    private Mqadmin() {}

    public static void main(String[] args) {
        MQAdminStartup.main(args);
        Halt.now(0);
    }
}
