#!/usr/bin/env node
'use strict';

const HELP = `Producer driven through npm ali-ons@3.12.0 (pure JavaScript remoting client).

  node compat/node/producer.js --namesrv 127.0.0.1:9876 --topic T --group G --count 40
      [--tags TagA,TagB] [--keys-prefix key-] [--body-prefix msg-] [--order-key-count K]
      [--instance NAME] [--send-timeout-ms 3000] [--timeout 60] [--verbose]

Sends --count messages one after the other (SEND_MESSAGE_V2). Message i gets
  tags = tags[i % len(tags)] (no TAGS property when --tags is absent), keys = <keys-prefix><i>,
  body = <body-prefix><i> (default prefix "msg-").
With --order-key-count K the message gets shardingKey "k<i % K>": ali-ons then always picks queue
  md5(shardingKey) % queueCount, so all messages of one key go to one queue.

stdout, one JSON line per sent message:
  {"event":"sent","i":0,"msgId":"...","queueId":N,"queueOffset":N,"status":"SEND_OK","tags":...,
   "keys":...,"body":"...","orderKey":null|"k0"}
then {"event":"done","sent":N,"elapsedMs":...}. Exit 0 when every message was sent with SEND_OK.
`;

const c = require('./common');

const SPEC = {
  'access-key': { type: 'string', default: null },
  'secret-key': { type: 'string', default: '' },
  namesrv: { type: 'string', required: true },
  topic: { type: 'string', required: true },
  group: { type: 'string', required: true },
  count: { type: 'int', required: true },
  tags: { type: 'string', default: '' },
  'keys-prefix': { type: 'string', default: null },
  'body-prefix': { type: 'string', default: 'msg-' },
  'order-key-count': { type: 'int', default: 0 },
  instance: { type: 'string', default: null },
  'send-timeout-ms': { type: 'int', default: 3000 },
  timeout: { type: 'float', default: 60 },
  verbose: { type: 'bool' },
};

async function main() {
  c.setName('node-producer');
  const args = c.parseArgs(process.argv.slice(2), SPEC, HELP);
  if (args.count < 0 || args['order-key-count'] < 0 || !(args.timeout > 0)) {
    c.log('ERROR: --count and --order-key-count must be >= 0, --timeout > 0');
    return c.exit(c.EXIT_USAGE);
  }
  c.startWatchdog(args.timeout * 1000 + c.WATCHDOG_EXTRA_MS, 'producer');
  await c.preflight(args.namesrv);
  const { ons, version } = c.requireAliOns();
  const { Producer, Message } = ons;
  const MQProducer = require('ali-ons/lib/producer/mq_producer');

  const tags = c.splitCsv(args.tags);
  const t0 = Date.now();
  const deadline = t0 + args.timeout * 1000;
  const options = {
    nameSrv: args.namesrv,
    httpclient: c.dummyHttpClient,
    producerGroup: args.group,
    logger: c.makeLogger(args.verbose),
    sendMsgTimeout: args['send-timeout-ms'],
  };
  if (args.instance) {
    options.instanceName = args.instance;
  }
  if (args['access-key']) {
    // ali-ons signs every request (AccessKey, OnsChannel, Signature) when both are set.
    options.accessKey = args['access-key'];
    options.secretKey = args['secret-key'];
  }
  const producer = new Producer(options);
  producer.on('error', err => c.log('producer error: %s', err && err.message));

  let code = c.EXIT_OK;
  let sent = 0;
  try {
    await c.withTimeout(producer.ready(), Math.max(1000, deadline - Date.now()), 'producer start');
    c.log('started: ali-ons %s group=%s namesrv=%s topic=%s count=%d clientId=%s', version, args.group,
      args.namesrv, args.topic, args.count, producer.clientId);
    for (let i = 0; i < args.count; i++) {
      if (Date.now() > deadline) {
        c.log('ERROR: --timeout %ds reached after %d/%d messages', args.timeout, sent, args.count);
        code = c.EXIT_FAIL;
        break;
      }
      const tag = tags.length ? tags[i % tags.length] : null;
      const key = args['keys-prefix'] !== null ? `${args['keys-prefix']}${i}` : null;
      const body = `${args['body-prefix']}${i}`;
      const msg = new Message(args.topic, tag || '', body);
      if (!tag) {
        // new Message(topic, body) would send the property TAGS=null (the literal string "null").
        delete msg.properties.TAGS;
      }
      if (key) {
        msg.keys = [ key ]; // the setter joins an array; a plain string would throw
      }
      let orderKey = null;
      if (args['order-key-count'] > 0) {
        orderKey = `k${i % args['order-key-count']}`;
        msg.shardingKey = orderKey;
      }
      let res;
      try {
        res = await c.withTimeout(producer.send(msg), Math.max(1000, deadline - Date.now()), `send of message ${i}`);
      } catch (err) {
        c.log('ERROR: send of message %d failed: %s', i, err && (err.stack || err.message));
        c.emit({ event: 'error', i, error: `${err && err.name}: ${err && err.message}`, code: err && err.code });
        code = c.EXIT_FAIL;
        break;
      }
      const queueId = res.messageQueue && res.messageQueue.queueId !== undefined && res.messageQueue.queueId !== null
        ? Number(res.messageQueue.queueId) : null;
      c.emit({
        event: 'sent', i, msgId: res.msgId, queueId, queueOffset: res.queueOffset,
        status: res.sendStatus, tags: tag, keys: key, body, orderKey,
      });
      if (res.sendStatus !== 'SEND_OK') {
        c.log('ERROR: message %d sent with status %s', i, res.sendStatus);
        code = c.EXIT_FAIL;
        break;
      }
      sent++;
    }
  } catch (err) {
    c.log('ERROR: %s', err && (err.stack || err.message));
    c.emit({ event: 'error', error: `${err && err.message}` });
    code = c.EXIT_FAIL;
  }

  // close() unregisters the producer group (UNREGISTER_CLIENT); the inner CLIENT_INNER_PRODUCER that
  // ali-ons creates on start has its own client and timers and must be closed as well.
  try {
    await c.withTimeout((async () => {
      await producer.close();
      if (MQProducer.defaultProducer) {
        await MQProducer.defaultProducer.close();
      }
    })(), c.SHUTDOWN_GRACE_MS, 'producer close');
  } catch (err) {
    c.log('warning: %s', err && err.message);
  }
  const elapsedMs = Date.now() - t0;
  c.emit({ event: 'done', sent, elapsedMs });
  c.log('%s: sent %d/%d in %d ms', code === 0 ? 'ok' : 'FAILED', sent, args.count, elapsedMs);
  return c.exit(code);
}

main().catch(err => {
  c.log('ERROR: %s', err && (err.stack || err.message));
  c.emit({ event: 'error', error: `${err && err.message}` });
  c.exit(c.EXIT_FAIL);
});
