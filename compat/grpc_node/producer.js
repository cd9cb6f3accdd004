#!/usr/bin/env node
'use strict';

const HELP = `Producer driven through npm rocketmq-client-nodejs@1.0.8 (Apache RocketMQ 5.x client, gRPC).
Same options and output as compat/grpc_py/producer.py.

    node compat/grpc_node/producer.js --endpoint 127.0.0.1:8081 --topic T \\
        [--count 1] [--body-prefix msg] [--tag A[,B...]] [--keys 'key-{i}'[,...]] [--prop k=v ...] \\
        [--kind normal|fifo|delay|transaction] [--message-group G] [--groups N] [--delay-ms MS] \\
        [--tx-commit | --tx-rollback | --tx-unknown] [--check-answer commit|rollback] [--linger S] \\
        [--recall-first K] \\
        [--namespace NS] [--request-timeout 3] [--timeout 60] [--log-home DIR] [--verbose]

Sends --count messages (await Producer.send), one after the other.  Message i gets
  body <body-prefix>-<i> (default prefix "msg"), tag tags[i % len(tags)] (--tag A,B; none by default),
  keys from --keys (comma separated, "{i}" replaced by i), user properties from --prop k=v (repeatable,
  "{i}" replaced by i in the value).
--kind (default normal) picks the message type the client derives from the message:
  fifo         message group --message-group (default "group"); --groups N spreads message i over the
               groups <message-group>-<i % N>.
  delay        deliveryTimestamp = now + --delay-ms (required), a Date: sent with millisecond precision.
  transaction  new Producer({checker}), beginTransaction(), send(msg, transaction), then per flag
               transaction.commit() (--tx-commit, default), .rollback() (--tx-rollback), or nothing
               (--tx-unknown: the broker checks back; the TransactionChecker answers --check-answer,
               default commit, and prints {"event":"check",...}).  Use --linger S to stay up for checks.
--recall-first K (delay only): recall messages 0..K-1 right after their sends (producer.recallMessage
  with the receipt's recall handle); prints {"event":"recalled","i":i,"body":...,"messageId":...}.

stdout, one JSON line per sent message (fields the SendReceipt exposes):
  {"event":"sent","i":0,"body":"msg-0","messageId":"...","offset":N,"queueId":N,"broker":"...",
   "tag":...,"keys":[...],"messageGroup":...,"deliveryTimestamp":ms,"transactionId":...,
   "resolution":"commit"|"rollback"|"unknown","recallHandle":...}   (absent fields were not set)
  "offset" is SendReceipt.offset (0 when the server left it out); queueId and broker are the queue
  the client picked from the route; "clientMessageId" appears when the id the client generated
  differs from the receipt's.
then {"event":"done","sent":N,"elapsedMs":...}.  On failure {"event":"error","i":i,"error":"..."}, exit 1.
Other lines: {"event":"started",...}, {"event":"lingering","seconds":S}, {"event":"check",...}.
Exit 0 when every message was sent (and its transaction ended as asked), 1 on a failed send, 2 on bad
usage / unreachable endpoint / client not installed, 3 when the watchdog fired.  SIGTERM/SIGINT during
--linger: clean shutdown, exit 0.  The client's log goes to <--log-home or ~>/logs/rocketmq/
rocketmq_client_nodejs.log.
`;

const d = require('./_driver');

const OPTIONS = [
  ...d.COMMON_OPTIONS,
  { name: 'topic', type: 'str', required: true },
  { name: 'count', type: 'int', default: 1 },
  { name: 'body-prefix', type: 'str', default: 'msg' },
  { name: 'tag', type: 'str', default: '' },
  { name: 'keys', type: 'str', default: '' },
  { name: 'prop', type: 'str', append: true },
  { name: 'kind', type: 'str', choices: [ 'normal', 'fifo', 'delay', 'transaction' ], default: 'normal' },
  { name: 'message-group', type: 'str', default: 'group' },
  { name: 'groups', type: 'int', default: null },
  { name: 'delay-ms', type: 'int', default: null },
  { name: 'tx-commit', type: 'const', dest: 'tx', const: 'commit', exclusive: 'tx' },
  { name: 'tx-rollback', type: 'const', dest: 'tx', const: 'rollback', exclusive: 'tx' },
  { name: 'tx-unknown', type: 'const', dest: 'tx', const: 'unknown', exclusive: 'tx' },
  { name: 'check-answer', type: 'str', choices: [ 'commit', 'rollback' ], default: 'commit' },
  { name: 'linger', type: 'float', default: 0.0 },
  { name: 'recall-first', type: 'int', default: 0 },
];

function parse(argv) {
  const args = d.parseArgs(argv, OPTIONS, HELP);
  if (args.count < 0) args.error('--count must be >= 0');
  if (args.kind !== 'fifo' && args.groups !== null) args.error('--groups needs --kind fifo');
  if (args.groups !== null && args.groups < 1) args.error('--groups must be >= 1');
  if ((args.kind === 'delay') !== (args['delay-ms'] !== null)) args.error('--kind delay and --delay-ms go together');
  if (args['recall-first'] > 0 && args.kind !== 'delay') args.error('--recall-first needs --kind delay');
  if (args['delay-ms'] !== null && args['delay-ms'] < 0) args.error('--delay-ms must be >= 0');
  if (args.tx !== null && args.kind !== 'transaction') args.error('--tx-* need --kind transaction');
  if (args['request-timeout'] < 1) args.error('--request-timeout must be >= 1 (the Node client refuses < 1000 ms)');
  args.tx = args.tx || 'commit';
  args.props = args.prop.map(item => {
    const eq = item.indexOf('=');
    if (eq <= 0) args.error(`--prop wants K=V, got '${item}'`);
    return [ item.slice(0, eq), item.slice(eq + 1) ];
  });
  args.tags = args.tag.split(',').map(s => s.trim()).filter(Boolean);
  args.keyList = args.keys.split(',').map(s => s.trim()).filter(Boolean);
  return args;
}

function buildMessage(args, i) {
  const body = `${args['body-prefix']}-${i}`;
  const msg = { topic: args.topic, body: Buffer.from(body, 'utf8') };
  const line = { event: 'sent', i, body };
  if (args.tags.length) {
    msg.tag = line.tag = args.tags[i % args.tags.length];
  }
  const keys = args.keyList.map(k => k.split('{i}').join(String(i)));
  if (keys.length) {
    msg.keys = keys;
    line.keys = keys;
  }
  if (args.props.length) {
    msg.properties = new Map(args.props.map(([ k, v ]) => [ k, v.split('{i}').join(String(i)) ]));
  }
  if (args.kind === 'fifo') {
    const group = args.groups === null ? args['message-group'] : `${args['message-group']}-${i % args.groups}`;
    msg.messageGroup = line.messageGroup = group;
  } else if (args.kind === 'delay') {
    // A Date, not `delay`: Message ignores delay 0 (falsy) and would send a NORMAL message.
    const at = Date.now() + args['delay-ms'];
    msg.deliveryTimestamp = new Date(at);
    line.deliveryTimestamp = at;
  }
  return { msg, line };
}

function receiptFields(receipt, clientId) {
  const out = { messageId: receipt.messageId, offset: receipt.offset };
  if (clientId && clientId !== receipt.messageId) {
    out.clientMessageId = clientId;
  }
  const mq = receipt.messageQueue;
  if (mq) {
    out.queueId = mq.queueId;
    out.broker = mq.broker.name;
  }
  if (receipt.transactionId) {
    out.transactionId = receipt.transactionId;
  }
  if (receipt.recallHandle) {
    out.recallHandle = receipt.recallHandle;
  }
  return out;
}

async function main() {
  d.setName('grpc-node-producer');
  const args = parse(process.argv.slice(2));
  d.startWatchdog(args.timeout * 1000 + d.WATCHDOG_EXTRA_MS, 'producer');
  await d.preflight(args.endpoint);
  d.useLogHome(args['log-home']);
  const { rmq, pb, logger } = d.importClient(args.verbose);
  d.guardProcess();

  const t0 = Date.now();
  const deadline = t0 + args.timeout * 1000;
  const stop = d.installStopSignals();

  let checker;
  if (args.kind === 'transaction') {
    const answer = args['check-answer'] === 'commit' ? pb.TransactionResolution.COMMIT
      : pb.TransactionResolution.ROLLBACK;
    checker = {
      async check(message) {
        d.emit({ event: 'check', body: d.text(message.body), messageId: message.messageId,
          topic: message.topic, answer: args['check-answer'] });
        return answer;
      },
    };
  }

  const producer = new rmq.Producer({ ...d.clientOptions(args, logger), topics: [ args.topic ], checker });
  // startup() queries the topic route (3 tries) and then waits for the server's Settings.
  await d.startupBounded(producer, deadline, 'producer startup');
  d.emit({ event: 'started', client: d.CLIENT, pid: process.pid, clientId: producer.clientId,
    endpoint: args.endpoint, topic: args.topic, kind: args.kind });
  d.log('started: endpoint=%s topic=%s kind=%s count=%d', args.endpoint, args.topic, args.kind, args.count);

  const result = { code: d.EXIT_OK, sent: 0 };

  async function sendAll() {
    for (let i = 0; i < args.count; i++) {
      if (stop.set) {
        result.code = d.EXIT_FAIL;
        d.emit({ event: 'error', i, error: 'stopped by a signal' });
        return;
      }
      let line;
      let receipt;
      let clientId;
      try {
        const built = buildMessage(args, i);
        line = built.line;
        d.sentIds.last = null;
        if (args.kind === 'transaction') {
          const tx = producer.beginTransaction();
          receipt = await producer.send(built.msg, tx);
          clientId = d.sentIds.last;
          if (args.tx === 'commit') {
            await tx.commit();
          } else if (args.tx === 'rollback') {
            await tx.rollback();
          }
          line.resolution = args.tx;
        } else {
          receipt = await producer.send(built.msg);
          clientId = d.sentIds.last;
        }
      } catch (e) {
        d.log('ERROR: send of message %d failed: %s', i, d.errorText(e));
        d.emit({ event: 'error', i, error: d.errorText(e) });
        result.code = d.EXIT_FAIL;
        return;
      }
      Object.assign(line, receiptFields(receipt, clientId));
      d.emit(line);
      result.sent += 1;
      if (i < args['recall-first']) {
        // producer.recallMessage: the delay message must not be delivered.
        try {
          const recalled = await producer.recallMessage(args.topic, receipt.recallHandle);
          d.emit({ event: 'recalled', i, body: line.body, messageId: recalled.messageId || null });
        } catch (e) {
          d.log('ERROR: recall of message %d failed: %s', i, d.errorText(e));
          d.emit({ event: 'error', i, error: `recall: ${d.errorText(e)}` });
          result.code = d.EXIT_FAIL;
          return;
        }
      }
    }
  }

  // Each send is bounded by the client (--request-timeout per attempt, up to 3 attempts); the race
  // keeps --timeout exact whatever the client does.
  try {
    await d.bounded(sendAll(), deadline - Date.now());
  } catch (e) {
    d.log('ERROR: --timeout %ss reached while a send was still running (%d/%d sent)', args.timeout,
      result.sent, args.count);
    d.emit({ event: 'error', error: `timeout: send blocked after ${result.sent}/${args.count}` });
    d.emit({ event: 'done', sent: result.sent, elapsedMs: Date.now() - t0 });
    return d.exit(d.EXIT_FAIL);
  }

  if (result.code === d.EXIT_OK && args.linger > 0) {
    d.emit({ event: 'lingering', seconds: args.linger });
    await stop.wait(Math.max(0, Math.min(args.linger * 1000, deadline - Date.now())));
  }

  await d.shutdownBounded(producer, 'producer');
  const elapsed = Date.now() - t0;
  d.emit({ event: 'done', sent: result.sent, elapsedMs: elapsed });
  d.log('%s: sent %d/%d in %d ms', result.code === 0 ? 'ok' : 'FAILED', result.sent, args.count, elapsed);
  return d.exit(result.code);
}

main().catch(e => {
  d.log('ERROR: %s', e && e.stack ? e.stack : e);
  d.emit({ event: 'error', error: d.errorText(e) });
  d.exit(d.EXIT_FAIL);
});
