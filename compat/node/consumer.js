#!/usr/bin/env node
'use strict';

const HELP = `Clustering push consumer driven through npm ali-ons@3.12.0 (pure JavaScript remoting client).

  node compat/node/consumer.js --namesrv 127.0.0.1:9876 --topic T --group G
      [--expr '*' | 'TagA||TagB'] [--expect N] [--linger S] [--idle-exit S] [--fail-first-times K]
      [--orderly] [--instance NAME] [--rebalance-interval-ms MS] [--redelivery-delay-ms MS]
      [--timeout 60] [--verbose]

stdout, one JSON line per delivery (every call of the message handler):
  {"event":"message","body":...,"tags":...,"keys":...,"topic":...,"queueId":N,"queueOffset":N,
   "msgId":...,"reconsumeTimes":N,"instance":...,"result":"ok"|"retry","delivery":n,
   "commitLogOffset":N,"bornTimestamp":N,"storeTimestamp":N,"storeHost":"ip:port","props":{...}}
  result "retry" means the handler threw for this delivery (see --fail-first-times); delivery is the
  1-based count of deliveries of that body seen by this process.
other lines: {"event":"started",...}, {"event":"queues","topic":...,"queues":[ids]} whenever the
  rebalance changes this member's queues, {"event":"done","reason":...,"received":N,"deliveries":N},
  {"event":"shutdown_timeout"}, {"event":"error",...}.

Exit conditions:
  --expect N     exit 0 once N distinct bodies were consumed successfully (after --linger S more seconds,
                 to catch duplicates or unexpected extra messages); exit 1 if --timeout comes first.
  --idle-exit S  exit after S seconds without any delivery (0, or 1 when --expect is set and not reached).
  --timeout S    end of the run: exit 0 unless --expect was set and not reached (default 60).
  SIGTERM/SIGINT clean shutdown (persists offsets, unregisters from the broker), exit 0.
--fail-first-times K throws from the handler on the first K deliveries of every body (judged by body;
  a delivery with reconsumeTimes >= K is always accepted, as in compat/cpp/consumer.py);
  ali-ons then sends the message back (CONSUMER_SEND_MSG_BACK, delayLevel 0) and it returns through
  %RETRY%<group>. If the send-back fails ali-ons re-sends it to %RETRY%<group> itself.
--orderly: ali-ons 3.12.0 has no orderly consumer (no LOCK_BATCH_MQ). Its push consumer already hands
  messages of one queue to the handler strictly one at a time in queue-offset order
  (parallelConsumeLimit 1, batch size 1); --orderly just pins those settings. A failed message is not
  retried in place but goes through the retry topic, so ordering holds only while nothing fails.
--instance NAME sets instanceName, so the client id is "<ip>@NAME" instead of "<ip>@<pid>".
--redelivery-delay-ms MS waits MS milliseconds in the handler before handling a delivery of a body this
  process has already seen (its 2nd and later deliveries): a replay after a backward offset reset then
  takes a while, without slowing down the first pass. The delivery line is printed after the wait.
--rebalance-interval-ms MS: how often ali-ons re-reads the group's member list (client default 10000;
  ali-ons ignores NOTIFY_CONSUMER_IDS_CHANGED, so this is the only way it notices a new member).
`;

const c = require('./common');

const SPEC = {
  'access-key': { type: 'string', default: null },
  'secret-key': { type: 'string', default: '' },
  namesrv: { type: 'string', required: true },
  topic: { type: 'string', required: true },
  group: { type: 'string', required: true },
  expr: { type: 'string', default: '*' },
  expect: { type: 'int', default: null },
  linger: { type: 'float', default: 0 },
  'idle-exit': { type: 'float', default: null },
  'fail-first-times': { type: 'int', default: 0 },
  orderly: { type: 'bool' },
  instance: { type: 'string', default: null },
  'rebalance-interval-ms': { type: 'int', default: null },
  'redelivery-delay-ms': { type: 'int', default: 0 },
  timeout: { type: 'float', default: 60 },
  verbose: { type: 'bool' },
};

async function main() {
  c.setName('node-consumer');
  const args = c.parseArgs(process.argv.slice(2), SPEC, HELP);
  if ((args.expect !== null && args.expect < 0) || args['fail-first-times'] < 0 || !(args.timeout > 0) ||
      args['redelivery-delay-ms'] < 0) {
    c.log('ERROR: --expect, --fail-first-times and --redelivery-delay-ms must be >= 0, --timeout > 0');
    return c.exit(c.EXIT_USAGE);
  }
  c.startWatchdog(args.timeout * 1000 + c.WATCHDOG_EXTRA_MS, 'consumer');
  await c.preflight(args.namesrv);
  const { ons, version } = c.requireAliOns();
  const { Consumer } = ons;
  const MQProducer = require('ali-ons/lib/producer/mq_producer');

  let stopRequested = false;
  let wake = () => {};
  const onSignal = sig => {
    c.log('received %s, stopping', sig);
    stopRequested = true;
    wake();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  const options = {
    nameSrv: args.namesrv,
    httpclient: c.dummyHttpClient,
    consumerGroup: args.group,
    logger: c.makeLogger(args.verbose),
    isBroadcast: false, // clustering
    persistent: false, // only used by broadcasting consumers (local offset file)
  };
  if (args.instance) {
    options.instanceName = args.instance;
  }
  if (args['access-key']) {
    // ali-ons signs every request (AccessKey, OnsChannel, Signature) when both are set.
    options.accessKey = args['access-key'];
    options.secretKey = args['secret-key'];
  }
  if (args['rebalance-interval-ms']) {
    options.rebalanceInterval = args['rebalance-interval-ms'];
  }
  if (args.orderly) {
    options.parallelConsumeLimit = 1;
    options.consumeMessageBatchMaxSize = 1;
  }
  const instance = args.instance || 'DEFAULT';
  const consumer = new Consumer(options);

  const deliveries = new Map(); // body -> deliveries seen
  const succeeded = new Set();
  let total = 0;
  const t0 = Date.now();
  let lastDelivery = t0;
  let expectReachedAt = null;
  let internalError = null;

  consumer.on('error', err => {
    const msg = err && err.message;
    if (msg && msg.includes('compat: deliberate failure')) {
      return; // our own --fail-first-times throw, re-emitted by ali-ons
    }
    c.log('consumer error: %s', msg);
  });
  consumer.on(`topic_${args.topic}_queue_changed`, () => {
    const queues = [];
    for (const v of consumer.processQueueTable.values()) {
      if (v && v.messageQueue && v.messageQueue.topic === args.topic) {
        queues.push(v.messageQueue.queueId);
      }
    }
    queues.sort((a, b) => a - b);
    c.emit({ event: 'queues', topic: args.topic, queues, instance });
  });

  // ali-ons asserts that the handler is an async function.
  consumer.subscribe(args.topic, args.expr, async msg => {
    let body;
    let fail = false;
    let n = 0;
    try {
      body = msg.body ? msg.body.toString('utf8') : '';
      if (args['redelivery-delay-ms'] > 0 && deliveries.has(body)) {
        await new Promise(resolve => setTimeout(resolve, args['redelivery-delay-ms']));
      }
      n = (deliveries.get(body) || 0) + 1;
      deliveries.set(body, n);
      total++;
      lastDelivery = Date.now();
      // Same rule as compat/cpp/consumer.py: never fail a delivery whose reconsumeTimes reached K.
      fail = n <= args['fail-first-times'] && (msg.reconsumeTimes || 0) < args['fail-first-times'];
      if (!fail) {
        succeeded.add(body);
        if (args.expect !== null && expectReachedAt === null && succeeded.size >= args.expect) {
          expectReachedAt = Date.now();
          wake();
        }
      }
      const props = Object.assign({}, msg.properties);
      delete props[''];
      c.emit({
        event: 'message', body, tags: msg.tags === undefined ? null : msg.tags,
        keys: msg.keys === undefined ? null : msg.keys, topic: msg.topic, queueId: msg.queueId,
        queueOffset: msg.queueOffset, msgId: msg.msgId, reconsumeTimes: msg.reconsumeTimes, instance,
        result: fail ? 'retry' : 'ok', delivery: n, commitLogOffset: msg.commitLogOffset,
        bornTimestamp: msg.bornTimestamp, storeTimestamp: msg.storeTimestamp, storeHost: msg.storeHost,
        props,
      });
    } catch (err) {
      internalError = err;
      c.log('ERROR: handler failed: %s', err && (err.stack || err.message));
      return;
    }
    if (fail) {
      throw new Error(`compat: deliberate failure ${n}/${args['fail-first-times']} of ${body}`);
    }
  });

  try {
    await c.withTimeout(consumer.ready(), args.timeout * 1000, 'consumer start');
  } catch (err) {
    c.log('ERROR: consumer start failed: %s', err && (err.stack || err.message));
    c.emit({ event: 'error', error: `start failed: ${err && err.message}` });
    return c.exit(c.EXIT_FAIL);
  }
  c.emit({
    event: 'started', client: 'ali-ons', version, pid: process.pid, instance, clientId: consumer.clientId,
    group: args.group, topic: args.topic, expr: args.expr, orderly: !!args.orderly,
  });
  c.log('started: ali-ons %s group=%s topic=%s expr=%s clientId=%s expect=%s', version, args.group,
    args.topic, args.expr, consumer.clientId, args.expect);

  let reason = 'timeout';
  let code = c.EXIT_OK;
  for (;;) {
    const now = Date.now();
    if (stopRequested) {
      reason = 'signal';
      code = c.EXIT_OK;
      break;
    }
    if (expectReachedAt !== null && now - expectReachedAt >= args.linger * 1000) {
      reason = 'expect';
      code = c.EXIT_OK;
      break;
    }
    const idleFor = now - lastDelivery;
    if (args['idle-exit'] !== null && expectReachedAt === null && idleFor >= args['idle-exit'] * 1000) {
      reason = 'idle';
      if (args.expect !== null) {
        c.log('ERROR: idle for %ds with %d/%d messages', Math.round(idleFor / 1000), succeeded.size, args.expect);
        code = c.EXIT_FAIL;
      }
      break;
    }
    if (now - t0 >= args.timeout * 1000) {
      reason = 'timeout';
      if (args.expect !== null && expectReachedAt === null) {
        c.log('ERROR: --timeout %ds reached with %d/%d messages consumed', args.timeout, succeeded.size, args.expect);
        code = c.EXIT_FAIL;
      }
      break;
    }
    await new Promise(resolve => {
      wake = resolve;
      setTimeout(resolve, 50);
    });
  }
  if (internalError && code === c.EXIT_OK) {
    code = c.EXIT_FAIL;
  }

  // close(): persists offsets (UPDATE_CONSUMER_OFFSET), UNREGISTER_CLIENT, closes sockets. The inner
  // CLIENT_INNER_PRODUCER created by the consumer has its own timers and is closed as well.
  try {
    await c.withTimeout((async () => {
      await consumer.close();
      if (MQProducer.defaultProducer) {
        await MQProducer.defaultProducer.close();
      }
    })(), c.SHUTDOWN_GRACE_MS - 1000, 'consumer close');
  } catch (err) {
    c.log('warning: %s', err && err.message);
    if (err && /did not finish/.test(err.message)) {
      c.emit({ event: 'shutdown_timeout' });
    }
  }
  c.emit({ event: 'done', reason, received: succeeded.size, deliveries: total, exitCode: code });
  c.log('%s: reason=%s received=%d deliveries=%d', code === 0 ? 'ok' : 'FAILED', reason, succeeded.size, total);
  return c.exit(code);
}

main().catch(err => {
  c.log('ERROR: %s', err && (err.stack || err.message));
  c.emit({ event: 'error', error: `${err && err.message}` });
  c.exit(c.EXIT_FAIL);
});
