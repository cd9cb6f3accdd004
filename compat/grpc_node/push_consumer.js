#!/usr/bin/env node
'use strict';

const HELP = `PushConsumer driven through npm rocketmq-client-nodejs@1.0.8 (Apache RocketMQ 5.x client, gRPC).
Same options and output as compat/grpc_py/push_consumer.py.

    node compat/grpc_node/push_consumer.js --endpoint 127.0.0.1:8081 --topic T \\
        --group G [--tag-expr '*' | 'A||B'] [--sql EXPR] [--expect N] [--linger S] [--fail-first-times K] \\
        [--threads 20] [--namespace NS] [--request-timeout 3] [--timeout 60] [--log-home DIR] [--verbose]

PushConsumer({messageListener}): the client asks the server for its queue assignment (QueryAssignment,
1 s after start then every 5 s), long-polls each assigned queue (ReceiveMessage, auto_renew, the
server's Settings.subscription.long_polling_timeout and receive_batch_size) and calls the listener once
per message. SUCCESS makes the client ack the message; FAILURE makes it call ChangeInvisibleDuration with
the delay of the server's backoff policy, so the message comes back with deliveryAttempt + 1.
Whether the group is FIFO is decided by the server (Settings.subscription.fifo): a FIFO consumer calls the
listener for one queue's batch in order, retries a failed message itself (after the backoff, with its
deliveryAttempt raised by the client) and forwards it to the dead-letter queue after max attempts.

--fail-first-times K  the listener answers FAILURE to the first K deliveries of every body.
--threads N           accepted for compatibility with the Python driver and ignored: the Node client has
                      no consumption thread pool (it calls the listener for every message of a batch at
                      once, as promises on the one event loop).

stdout, one JSON line per listener call (absent fields were not set on the message):
  {"event":"message","body":...,"tag":...,"keys":[...],"props":{user properties},"topic":...,
   "queueId":N,"queueOffset":N,"messageId":...,"deliveryAttempt":N,"messageGroup":...,"delivery":n,
   "acked":true|false,"bornTimestamp":ms,"storeTimestamp":ms,"deliveryTimestamp":ms,"storeHost":...}
  acked is the listener's answer (true = SUCCESS; the client then acks); delivery is the 1-based count
  of deliveries of that body seen by this process.
other lines: {"event":"started",...}, {"event":"error",...}, {"event":"shutdown_timeout"},
  {"event":"done","reason":...,"received":N,"deliveries":N,"exitCode":N}.

Exit conditions:
  --expect N     exit 0 once N distinct bodies were answered SUCCESS (after --linger S more seconds);
                 exit 1 if --timeout comes first.
  --timeout S    end of the run: exit 0 unless --expect was set and not reached (default 60).
  SIGTERM/SIGINT clean shutdown, exit 0.
startup() waits without a limit for the server's Settings (Telemetry stream): bounded by --timeout, exit 1.
Exit 2: bad usage, unreachable endpoint or client not installed; 3: the watchdog fired.
`;

const d = require('./_driver');

const OPTIONS = [
  ...d.COMMON_OPTIONS,
  { name: 'topic', type: 'str', required: true },
  { name: 'group', type: 'str', required: true },
  { name: 'tag-expr', type: 'str', default: '*' },
  { name: 'sql', type: 'str', default: null },
  { name: 'expect', type: 'int', default: null },
  { name: 'linger', type: 'float', default: 0.0 },
  { name: 'fail-first-times', type: 'int', default: 0 },
  { name: 'threads', type: 'int', default: 20 },
];

function parse(argv) {
  const args = d.parseArgs(argv, OPTIONS, HELP);
  if (args.expect !== null && args.expect < 0) args.error('--expect must be >= 0');
  if (args['fail-first-times'] < 0) args.error('--fail-first-times must be >= 0');
  if (args.threads < 1) args.error('--threads must be >= 1');
  if (args['request-timeout'] < 1) args.error('--request-timeout must be >= 1 (the Node client refuses < 1000 ms)');
  return args;
}

async function main() {
  d.setName('grpc-node-push-consumer');
  const args = parse(process.argv.slice(2));
  d.startWatchdog(args.timeout * 1000 + d.WATCHDOG_EXTRA_MS, 'push consumer');
  await d.preflight(args.endpoint);
  d.useLogHome(args['log-home']);
  const { rmq, pb, logger } = d.importClient(args.verbose);
  d.guardProcess();

  const t0 = Date.now();
  const stop = d.installStopSignals();
  const state = {
    deliveries: new Map(), // body -> listener calls seen
    succeeded: new Set(), // bodies answered SUCCESS
    total: 0,
    expectReachedAt: null,
    internalError: null,
  };

  const listener = {
    async consume(message) {
      // An exception would count as FAILURE: keep the driver's own apart.
      try {
        const body = d.text(message.body);
        const n = (state.deliveries.get(body) || 0) + 1;
        state.deliveries.set(body, n);
        state.total += 1;
        const ok = n > args['fail-first-times'];
        if (ok) {
          state.succeeded.add(body);
          if (args.expect !== null && state.expectReachedAt === null && state.succeeded.size >= args.expect) {
            state.expectReachedAt = Date.now();
          }
        }
        d.emit(d.messageLine(message, n, ok));
        return ok ? rmq.ConsumeResult.SUCCESS : rmq.ConsumeResult.FAILURE;
      } catch (e) {
        state.internalError = d.errorText(e);
        d.log('ERROR: listener failed: %s', state.internalError);
        return rmq.ConsumeResult.SUCCESS;
      }
    },
  };

  const consumer = new rmq.PushConsumer({
    ...d.clientOptions(args, logger),
    consumerGroup: args.group,
    subscriptions: new Map([ [ args.topic, d.filterExpression(rmq, pb, args) ] ]),
    messageListener: listener,
  });
  await d.startupBounded(consumer, t0 + args.timeout * 1000, 'consumer startup');
  const fifo = consumer.getPushConsumerSettings().isFifo();
  d.emit({ event: 'started', client: d.CLIENT, pid: process.pid, clientId: consumer.clientId,
    endpoint: args.endpoint, group: args.group, topic: args.topic, expr: args.sql || args['tag-expr'], fifo });
  d.log('started: endpoint=%s group=%s topic=%s fifo=%s expect=%s', args.endpoint, args.group, args.topic,
    fifo, args.expect);

  let reason = 'timeout';
  let code = d.EXIT_OK;
  for (;;) {
    const now = Date.now();
    const got = state.succeeded.size;
    const reached = state.expectReachedAt;
    if (stop.set) {
      reason = 'signal';
      code = d.EXIT_OK;
      break;
    }
    if (reached !== null && now - reached >= args.linger * 1000) {
      reason = 'expect';
      code = d.EXIT_OK;
      break;
    }
    if (now - t0 >= args.timeout * 1000) {
      reason = 'timeout';
      if (args.expect !== null && reached === null) {
        d.log('ERROR: --timeout %ss reached with %d/%d bodies consumed', args.timeout, got, args.expect);
        code = d.EXIT_FAIL;
      }
      break;
    }
    await stop.wait(50);
  }

  if (state.internalError && code === d.EXIT_OK) {
    d.emit({ event: 'error', error: `listener: ${state.internalError}` });
    code = d.EXIT_FAIL;
  }
  await d.shutdownBounded(consumer, 'consumer');
  const summary = { event: 'done', reason, received: state.succeeded.size, deliveries: state.total,
    exitCode: code };
  d.emit(summary);
  d.log('%s: reason=%s received=%d deliveries=%d', code === 0 ? 'ok' : 'FAILED', reason,
    summary.received, summary.deliveries);
  return d.exit(code);
}

main().catch(e => {
  d.log('ERROR: %s', e && e.stack ? e.stack : e);
  d.emit({ event: 'error', error: d.errorText(e) });
  d.exit(d.EXIT_FAIL);
});
