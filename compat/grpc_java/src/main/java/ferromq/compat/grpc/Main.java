package ferromq.compat.grpc;

/**
 * {@code java -cp compat/grpc_java/target/classes:$(cat compat/grpc_java/target/classpath.txt)
 * ferromq.compat.grpc.Main <produce|simple|push> --endpoint HOST:PORT ...}: drivers for the Apache
 * RocketMQ 5.x Java client (Maven org.apache.rocketmq:rocketmq-client-java, gRPC) with the options,
 * stdout JSON lines and exit codes of compat/grpc_py/{producer,simple_consumer,push_consumer}.py.
 * The script names of compat/grpc_py are accepted as aliases (producer, simple_consumer, push_consumer).
 */
public final class Main {
    private Main() {}

    private static String usage() {
        String v = Driver.clientVersion();
        return "usage: ferromq.compat.grpc.Main {produce,simple,push} --endpoint HOST:PORT ... (--help per command)\n"
                + "  produce  (alias producer)         Producer: normal, fifo, delay, transaction messages\n"
                + "  simple   (alias simple_consumer)  SimpleConsumer: receive, ack, changeInvisibleDuration\n"
                + "  push     (alias push_consumer)    PushConsumer with a MessageListener\n"
                + "client: org.apache.rocketmq:" + Driver.CLIENT_ARTIFACT + " " + (v == null ? "(not on the class path)" : v)
                + "\n";
    }

    public static void main(String[] argv) {
        int code;
        String cmd = argv.length == 0 ? "" : argv[0];
        String prog = "ferromq.compat.grpc.Main " + cmd;
        try {
            code = switch (cmd) {
                case "produce", "producer" -> Produce.run(prog, argv);
                case "simple", "simple_consumer", "simple-consumer" -> Simple.run(prog, argv);
                case "push", "push_consumer", "push-consumer" -> Push.run(prog, argv);
                case "-h", "--help", "help" -> {
                    Out.printHelp(usage());
                    yield Driver.EXIT_OK;
                }
                case "--version" -> {
                    String v = Driver.clientVersion();
                    Out.printHelp(Driver.CLIENT_ARTIFACT + " " + (v == null ? "unknown" : v) + "\n");
                    yield v == null ? Driver.EXIT_USAGE : Driver.EXIT_OK;
                }
                default -> {
                    System.err.print(usage());
                    System.err.println("error: " + (cmd.isEmpty() ? "a command is required"
                            : "unknown command '" + cmd + "'"));
                    yield Driver.EXIT_USAGE;
                }
            };
        } catch (Args.HelpRequested h) {
            String help = switch (cmd) {
                case "produce", "producer" -> Produce.parser(prog).help();
                case "simple", "simple_consumer", "simple-consumer" -> Simple.parser(prog).help();
                default -> Push.parser(prog).help();
            };
            String v = Driver.clientVersion();
            Out.printHelp(help + "\nclient: org.apache.rocketmq:" + Driver.CLIENT_ARTIFACT + " "
                    + (v == null ? "(not on the class path)" : v) + "\n");
            code = Driver.EXIT_OK;
        } catch (Args.UsageError e) {
            String u = switch (cmd) {
                case "produce", "producer" -> Produce.parser(prog).usage();
                case "simple", "simple_consumer", "simple-consumer" -> Simple.parser(prog).usage();
                default -> Push.parser(prog).usage();
            };
            System.err.print(u);
            System.err.println(prog + ": error: " + e.getMessage());
            code = Driver.EXIT_USAGE;
        } catch (Throwable e) {
            Out.log("ERROR: %s", Driver.errorText(e));
            e.printStackTrace(System.err);
            var ev = Out.event("error");
            ev.put("error", Driver.errorText(e));
            Out.emit(ev);
            code = Driver.EXIT_FAIL;
        }
        // The client's threads are not all daemons, and the stop hook waits for this: leave now.
        Driver.hardExit(code);
    }
}
