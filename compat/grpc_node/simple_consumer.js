#!/usr/bin/env node
'use strict';

const HELP = `SimpleConsumer driven through npm rocketmq-client-nodejs@1.0.8 (Apache RocketMQ 5.x client, gRPC).
Same options and output as compat/grpc_py/simple_consumer.py.

    node compat/grpc_node/simple_consumer.js --endpoint 127.0.0.1:8081 --topic T \\
        --group G [--tag-expr '*' | 'A||B'] [--sql EXPR] [--expect N] [--linger S] [--batch 16] \\
        [--invisible-s 15] [--await-s 5] [--no-ack-first K] [--change-invisible-s S] [--max-errors 3] \\
        [--namespace NS] [--request-timeout 3] [--timeout 60] [--log-home DIR] [--verbose]

Receive loop: SimpleConsumer.receive(--batch, --invisible-s) (a long poll of --await-s seconds), then for
each message, in order:
  --change-invisible-s S  on the first delivery of a body, changeInvisibleDuration(msg, S) (the client
                          replaces the message's receipt handle with the new one);
  --no-ack-first K        the first K deliveries of every body are not acknowledged, so they come back
                          after the invisible duration; later deliveries are acknowledged (ack(msg)).
With both, a body's first delivery gets its invisible duration changed to S and comes back after S.

stdout, one JSON line per delivery (absent fields were not set on the message):
  {"event":"message","body":...,"tag":...,"keys":[...],"props":{user properties},"topic":...,
   "queueId":N,"queueOffset":N,"messageId":...,"deliveryAttempt":N,"messageGroup":...,"delivery":n,
   "acked":true|false,"invisibleChanged":true,"ackError":"...","bornTimestamp":ms,"storeTimestamp":ms,
   "deliveryTimestamp":ms,"storeHost":...}
  delivery is the 1-based count of deliveries of that body seen by this process; acked says whether it
  was acknowledged successfully.  queueId, storeHost and storeTimestamp come from the received protobuf
  (MessageView does not expose them).
other lines: {"event":"started",...}, {"event":"receive_error","error":...} (retried after 1 s),
  {"event":"error",...}, {"event":"done","reason":...,"received":N,"deliveries":N,"exitCode":N},
  {"event":"shutdown_timeout"}.

Exit conditions:
  --expect N      exit 0 once N distinct bodies were acknowledged (after --linger S more seconds, to catch
                  duplicates or extra messages); exit 1 if --timeout comes first.
  --timeout S     end of the run: exit 0 unless --expect was set and not reached (default 60).
  --max-errors K  exit 1 after K receive calls in a row failed (default 3).
  SIGTERM/SIGINT  clean shutdown (NotifyClientTermination), exit 0.
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
  { name: 'batch', type: 'int', default: 16 },
  { name: 'invisible-s', type: 'int', default: 15 },
  { name: 'await-s', type: 'int', default: 5 },
  { name: 'no-ack-first', type: 'int', default: 0 },
  { name: 'change-invisible-s', type: 'int', default: null },
  { name: 'max-errors', type: 'int', default: 3 },
];

function parse(argv) {
  const args = d.parseArgs(argv, OPTIONS, HELP);
  if (args.expect !== null && args.expect < 0) args.error('--expect must be >= 0');
  if (args.batch < 1 || args['invisible-s'] < 1 || args['await-s'] < 1 || args['max-errors'] < 1) {
    args.error('--batch, --invisible-s, --await-s and --max-errors must be >= 1');
  }
  if (args['no-ack-first'] < 0) args.error('--no-ack-first must be >= 0');
  if (args['change-invisible-s'] !== null && args['change-invisible-s'] < 1) {
    args.error('--change-invisible-s must be >= 1');
  }
  if (args['request-timeout'] < 1) args.error('--request-timeout must be >= 1 (the Node client refuses < 1000 ms)');
  return args;
}

async function main() {
  d.setName('grpc-node-simple-consumer');
  const args = parse(process.argv.slice(2));
  d.startWatchdog(args.timeout * 1000 + d.WATCHDOG_EXTRA_MS, 'simple consumer');
  await d.preflight(args.endpoint);
  d.useLogHome(args['log-home']);
  const { rmq, pb, logger } = d.importClient(args.verbose);
  d.guardProcess();

  const t0 = Date.now();
  const stop = d.installStopSignals();
  const state = {
    deliveries: new Map(), // body -> deliveries seen
    acked: new Set(), // bodies acknowledged
    total: 0,
    expectReachedAt: null,
    fatal: null,
  };

  const consumer = new rmq.SimpleConsumer({
    ...d.clientOptions(args, logger),
    consumerGroup: args.group,
    subscriptions: new Map([ [ args.topic, d.filterExpression(rmq, pb, args) ] ]),
    awaitDuration: args['await-s'] * 1000,
  });
  // startup() queries the topic route (3 tries) and then waits for the server's Settings.
  await d.startupBounded(consumer, t0 + args.timeout * 1000, 'consumer startup');
  d.emit({ event: 'started', client: d.CLIENT, pid: process.pid, clientId: consumer.clientId,
    endpoint: args.endpoint, group: args.group, topic: args.topic, expr: args.sql || args['tag-expr'] });
  d.log('started: endpoint=%s group=%s topic=%s expect=%s', args.endpoint, args.group, args.topic, args.expect);

  async function handle(msg) {
    const body = d.text(msg.body);
    const n = (state.deliveries.get(body) || 0) + 1;
    state.deliveries.set(body, n);
    state.total += 1;
    const extra = {};
    if (args['change-invisible-s'] !== null && n === 1) {
      try {
        await consumer.changeInvisibleDuration(msg, args['change-invisible-s'] * 1000);
        extra.invisibleChanged = true;
      } catch (e) {
        extra.invisibleChanged = false;
        extra.changeInvisibleError = d.errorText(e);
      }
    }
    let acked = false;
    if (n > args['no-ack-first']) {
      try {
        await consumer.ack(msg);
        acked = true;
      } catch (e) {
        extra.ackError = d.errorText(e);
      }
    }
    if (acked) {
      state.acked.add(body);
      if (args.expect !== null && state.expectReachedAt === null && state.acked.size >= args.expect) {
        state.expectReachedAt = Date.now();
      }
    }
    d.emit(Object.assign(d.messageLine(msg, n, acked), extra));
  }

  async function receiveLoop() {
    let failures = 0;
    while (!stop.set) {
      let messages;
      try {
        messages = await consumer.receive(args.batch, args['invisible-s'] * 1000);
      } catch (e) {
        if (stop.set) {
          return;
        }
        failures += 1;
        d.log('receive failed (%d in a row): %s', failures, d.errorText(e));
        d.emit({ event: 'receive_error', error: d.errorText(e) });
        if (failures >= args['max-errors']) {
          state.fatal = `${failures} receives in a row failed, last: ${d.errorText(e)}`;
          return;
        }
        await stop.wait(1000);
        continue;
      }
      failures = 0;
      for (const msg of messages || []) {
        try {
          await handle(msg);
        } catch (e) {
          state.fatal = `handling a message failed: ${d.errorText(e)}`;
          return;
        }
      }
    }
  }

  // receive() resolves after at most --await-s + --request-timeout; the loop below keeps SIGTERM and
  // --timeout prompt meanwhile.
  receiveLoop().catch(e => {
    state.fatal = `receive loop failed: ${d.errorText(e)}`;
  });

  let reason = 'timeout';
  let code = d.EXIT_OK;
  for (;;) {
    const now = Date.now();
    const got = state.acked.size;
    const reached = state.expectReachedAt;
    if (state.fatal) {
      d.log('ERROR: %s', state.fatal);
      d.emit({ event: 'error', error: state.fatal });
      reason = 'error';
      code = d.EXIT_FAIL;
      break;
    }
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
        d.log('ERROR: --timeout %ss reached with %d/%d bodies acknowledged', args.timeout, got, args.expect);
        code = d.EXIT_FAIL;
      }
      break;
    }
    await stop.wait(50);
  }

  stop.fire();
  await d.shutdownBounded(consumer, 'consumer');
  const summary = { event: 'done', reason, received: state.acked.size, deliveries: state.total, exitCode: code };
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
