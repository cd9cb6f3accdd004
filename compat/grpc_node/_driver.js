'use strict';
// Shared plumbing for the npm rocketmq-client-nodejs@1.0.8 (Apache RocketMQ 5.x gRPC client) compat
// drivers. Same contract as compat/grpc_py/_driver.py; the generic parts (JSON lines on stdout, logs on
// stderr, exit codes, watchdog) come from compat/node/common.js:
//  * stdout carries one JSON object per line (flushed per line); every object has an "event" key.
//  * exit 0 on success, 1 on a failed run, 2 on bad usage / unreachable endpoint / missing client,
//    3 when the watchdog fired (--timeout + 15 s).

const fs = require('fs');
const net = require('net');
const path = require('path');
const util = require('util');

const c = require('../node/common');

const CLIENT = 'grpc-node';
const CLIENT_PKG = 'rocketmq-client-nodejs';
// Where the client writes its log, relative to $HOME (client/Logger.ts getDefaultLogger()).
const CLIENT_LOG = path.join('logs', 'rocketmq', 'rocketmq_client_nodejs.log');

// ---------------------------------------------------------------------------------------------
// Command line: a small argparse look-alike (same option names, defaults and checks as the
// Python drivers; errors print "usage" and exit 2, --help prints the description and exits 0).
// ---------------------------------------------------------------------------------------------

// Options every driver takes (compat/grpc_py/_driver.py add_common_args).
const COMMON_OPTIONS = [
  { name: 'endpoint', type: 'str', required: true },
  { name: 'namespace', type: 'str', default: '' },
  { name: 'request-timeout', type: 'int', default: 3 },
  { name: 'timeout', type: 'posfloat', default: 60.0 },
  { name: 'log-home', type: 'str', default: null },
  { name: 'verbose', type: 'flag' },
];

function parseError(prog, msg) {
  process.stderr.write(`usage: ${prog} [-h] --endpoint HOST:PORT ... (see --help)\n${prog}: error: ${msg}\n`);
  process.exit(c.EXIT_USAGE);
}

function convert(prog, opt, raw) {
  const bad = what => parseError(prog, `argument --${opt.name}: invalid ${what} value: '${raw}'`);
  switch (opt.type) {
    case 'int':
      if (!/^\s*[-+]?\d+\s*$/.test(raw)) bad('int');
      return parseInt(raw, 10);
    case 'float':
    case 'posfloat': {
      const v = raw.trim() === '' ? NaN : Number(raw);
      if (Number.isNaN(v)) bad(opt.type === 'float' ? 'float' : 'positive_float');
      if (opt.type === 'posfloat' && !(v > 0)) bad('positive_float');
      return v;
    }
    default:
      if (opt.choices && !opt.choices.includes(raw)) {
        parseError(prog, `argument --${opt.name}: invalid choice: '${raw}' (choose from ${
          opt.choices.map(x => `'${x}'`).join(', ')})`);
      }
      return raw;
  }
}

/**
 * options: [{ name, type: 'str'|'int'|'float'|'posfloat'|'flag'|'const', default, required,
 *             choices, append, dest, const, exclusive }]; returns { key: value } with keys as the
 * option names (or dest).
 */
function parseArgs(argv, options, help) {
  const prog = path.basename(process.argv[1] || 'driver.js');
  const byName = new Map(options.map(o => [ o.name, o ]));
  const out = {};
  for (const o of options) {
    const key = o.dest || o.name;
    if (!(key in out)) {
      out[key] = o.type === 'flag' ? false : o.append ? [] : (o.default === undefined ? null : o.default);
    }
  }
  const exclusiveSeen = new Map(); // exclusive group -> option name given
  const given = new Set();
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(help);
      process.exit(c.EXIT_OK);
    }
    if (!arg.startsWith('--') || arg === '--') {
      parseError(prog, `unrecognized arguments: ${arg}`);
    }
    arg = arg.slice(2);
    let value = null;
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const o = byName.get(arg);
    if (!o) {
      parseError(prog, `unrecognized arguments: --${arg}`);
    }
    const key = o.dest || o.name;
    if (o.exclusive) {
      const prev = exclusiveSeen.get(o.exclusive);
      if (prev && prev !== o.name) {
        parseError(prog, `argument --${o.name}: not allowed with argument --${prev}`);
      }
      exclusiveSeen.set(o.exclusive, o.name);
    }
    given.add(o.name);
    if (o.type === 'flag' || o.type === 'const') {
      if (value !== null) {
        parseError(prog, `argument --${o.name}: ignored explicit argument '${value}'`);
      }
      out[key] = o.type === 'flag' ? true : o.const;
      continue;
    }
    if (value === null) {
      if (i + 1 >= argv.length) {
        parseError(prog, `argument --${o.name}: expected one argument`);
      }
      value = argv[++i];
    }
    const v = convert(prog, o, value);
    if (o.append) {
      out[key].push(v);
    } else {
      out[key] = v;
    }
  }
  const missing = options.filter(o => o.required && !given.has(o.name)).map(o => `--${o.name}`);
  if (missing.length) {
    parseError(prog, `the following arguments are required: ${missing.join(', ')}`);
  }
  out.error = msg => parseError(prog, msg);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Endpoint and start-up
// ---------------------------------------------------------------------------------------------

function parseEndpoint(value) {
  const idx = value.lastIndexOf(':');
  const host = idx > 0 ? value.slice(0, idx) : '';
  const port = idx > 0 ? value.slice(idx + 1) : '';
  if (!host || !/^\d+$/.test(port)) {
    throw new Error(`--endpoint must be HOST:PORT, got '${value}'`);
  }
  return { host, port: parseInt(port, 10) };
}

function connectOnce(host, port, ms) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('connect timed out'));
    }, ms);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve();
    });
    sock.once('error', err => {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    });
  });
}

/** Fails fast (exit 2) when nothing accepts TCP connections on the endpoint. */
async function preflight(endpoint, timeoutMs = 3000) {
  let addr;
  try {
    addr = parseEndpoint(endpoint);
  } catch (e) {
    c.log('ERROR: %s', e.message);
    c.emit({ event: 'error', error: e.message });
    return hang(c.EXIT_USAGE);
  }
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    try {
      await connectOnce(addr.host, addr.port, Math.max(200, deadline - Date.now()));
      return;
    } catch (e) {
      last = e;
      await c.sleep(200);
    }
  }
  const why = last ? last.message : 'no answer';
  c.log('ERROR: endpoint %s is not reachable: %s', endpoint, why);
  c.emit({ event: 'error', error: `endpoint ${endpoint} unreachable: ${why}` });
  return hang(c.EXIT_USAGE);
}

/** Exits with `code` and never resolves (so callers stop where they are). */
function hang(code) {
  c.exit(code);
  return new Promise(() => {});
}

/**
 * The client logs to ~/logs/rocketmq/rocketmq_client_nodejs.log, reading ~ (os.homedir(), i.e. $HOME)
 * whenever it creates a logger; point $HOME elsewhere first.
 */
function useLogHome(dir) {
  if (dir) {
    dir = path.resolve(dir);
    fs.mkdirSync(dir, { recursive: true });
    process.env.HOME = dir;
  }
}

/**
 * The client's logger (ILogger): INFO and above appended synchronously to $HOME/CLIENT_LOG (the file
 * the client's own egg-logger would write, without its 1 s buffer that process.exit() drops), copied
 * to stderr with --verbose. debug() lines are dropped, as at the client's default level INFO.
 */
function makeClientLogger(verbose) {
  const file = path.join(require('os').homedir(), CLIENT_LOG);
  let fd = null;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fd = fs.openSync(file, 'a');
  } catch (e) {
    c.log('warning: cannot open the client log %s: %s', file, e.message);
  }
  const write = (level, args) => {
    let msg;
    try {
      msg = util.format(...args);
    } catch (e) {
      msg = String(args[0]);
    }
    if (fd !== null) {
      try {
        fs.writeSync(fd, `${new Date().toISOString()} ${level} ${process.pid} ${msg}\n`);
      } catch (e) {
        // a full disk must not stop the driver
      }
    }
    if (verbose) {
      process.stderr.write(`[client ${new Date().toISOString()} ${level}] ${msg}\n`);
    }
  };
  return {
    file,
    info: (...a) => write('INFO', a),
    warn: (...a) => write('WARN', a),
    error: (...a) => write('ERROR', a),
    debug: () => {},
    // BaseClient.shutdown() closes its logger; later lines (stream callbacks) must still land.
    close: () => {},
  };
}

/**
 * Loads rocketmq-client-nodejs (or exits 2) and adapts it:
 *  - every logger the client creates (getDefaultLogger(), also used by the consume services) is the
 *    driver's logger;
 *  - MessageView keeps what it drops from the received protobuf (queue id, store host, store
 *    timestamp, which fields were set);
 *  - PublishingMessage.toProtobuf() records the message id the client generated for the last send.
 */
function importClient(verbose) {
  let rmq;
  let version;
  let root;
  try {
    rmq = require(CLIENT_PKG);
    root = path.dirname(require.resolve(`${CLIENT_PKG}/package.json`));
    version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
  } catch (e) {
    const why = String(e.message).split('\n')[0];
    c.log('ERROR: cannot load %s (%s); run compat/grpc_node/setup.sh first (installs compat/grpc_node/node_modules)',
      CLIENT_PKG, why);
    c.emit({ event: 'error', error: `${CLIENT_PKG} not installed: ${why}` });
    process.exit(c.EXIT_USAGE);
  }
  const logger = makeClientLogger(verbose);
  const pb = require(path.join(root, 'proto/apache/rocketmq/v2/definition_pb.js'));

  const loggerMod = require(path.join(root, 'dist/client/Logger.js'));
  loggerMod.getDefaultLogger = () => logger;

  const viewMod = require(path.join(root, 'dist/message/MessageView.js'));
  const Original = viewMod.MessageView;
  if (!Original.ferromq) {
    class MessageView extends Original {
      constructor(message, messageQueue, transportDeliveryTimestamp) {
        super(message, messageQueue, transportDeliveryTimestamp);
        const sp = message.getSystemProperties();
        const ms = ts => ts.getSeconds() * 1000 + Math.floor(ts.getNanos() / 1e6);
        this.ferromq = {
          queueId: sp.getQueueId(),
          queueOffset: sp.hasQueueOffset() ? sp.getQueueOffset() : null,
          storeHost: sp.getStoreHost() || null, // a plain proto3 string: no presence
          storeTimestamp: sp.hasStoreTimestamp() ? ms(sp.getStoreTimestamp()) : null,
          bornTimestamp: sp.hasBornTimestamp() ? ms(sp.getBornTimestamp()) : null,
          deliveryTimestamp: sp.hasDeliveryTimestamp() ? ms(sp.getDeliveryTimestamp()) : null,
        };
      }
    }
    MessageView.ferromq = true;
    viewMod.MessageView = MessageView;
  }

  const pubMod = require(path.join(root, 'dist/message/PublishingMessage.js'));
  const proto = pubMod.PublishingMessage.prototype;
  if (!proto.toProtobuf.ferromq) {
    const original = proto.toProtobuf;
    const patched = function toProtobuf(...a) {
      sentIds.last = this.messageId;
      return original.apply(this, a);
    };
    patched.ferromq = true;
    proto.toProtobuf = patched;
  }
  return { rmq, pb, version, logger };
}

/** The message id the client generated for the message it serialized last. */
const sentIds = { last: null };

function clientOptions(args, logger) {
  parseEndpoint(args.endpoint);
  return {
    endpoints: args.endpoint,
    namespace: args.namespace,
    requestTimeout: args['request-timeout'] * 1000,
    logger,
  };
}

function filterExpression(rmq, pb, args) {
  if (args.sql) {
    return new rmq.FilterExpression(args.sql, pb.FilterType.SQL);
  }
  return new rmq.FilterExpression(args['tag-expr'], pb.FilterType.TAG);
}

function text(value) {
  if (value === null || value === undefined) {
    return null;
  }
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return Buffer.from(value).toString('utf8');
  }
  return String(value);
}

/** The {"event":"message"} line for a received MessageView (keys of null values left out). */
function messageLine(msg, delivery, acked) {
  const f = msg.ferromq || {};
  const props = {};
  for (const [ k, v ] of msg.properties) {
    props[k] = v;
  }
  const out = {
    event: 'message', body: text(msg.body), tag: msg.tag || null, keys: [ ...msg.keys ].sort(),
    props, topic: msg.topic,
    queueId: f.queueId === undefined ? null : f.queueId,
    queueOffset: f.queueOffset === undefined ? null : f.queueOffset,
    messageId: msg.messageId, deliveryAttempt: msg.deliveryAttempt || null,
    messageGroup: msg.messageGroup || null, delivery, acked,
    bornTimestamp: f.bornTimestamp === undefined ? null : f.bornTimestamp, bornHost: msg.bornHost || null,
    storeTimestamp: f.storeTimestamp === undefined ? null : f.storeTimestamp,
    deliveryTimestamp: f.deliveryTimestamp || null,
    storeHost: f.storeHost || null,
  };
  for (const k of Object.keys(out)) {
    if (out[k] === null || out[k] === undefined) {
      delete out[k];
    }
  }
  return out;
}

function errorText(e) {
  if (e instanceof Error) {
    return `${e.name}: ${e.message}`;
  }
  return `Error: ${String(e)}`;
}

/** Resolves with fn()'s promise, or rejects with a timeout error after ms. */
function bounded(promise, ms) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => {
        const e = new Error('timed out');
        e.timedOut = true;
        reject(e);
      }, Math.max(0, ms));
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * client.startup() bounded by the deadline; exits 1 when it fails or hangs (the client waits without
 * a limit for the first Settings on the Telemetry stream).
 */
async function startupBounded(client, deadline, what) {
  try {
    await bounded(client.startup(), deadline - Date.now());
  } catch (e) {
    if (e.timedOut) {
      c.log('ERROR: %s did not finish before --timeout', what);
      c.emit({ event: 'error', error: `${what} timed out` });
    } else {
      // The client wraps its errors (startup -> route -> gRPC): name the innermost one.
      let root = e;
      while (root && root.cause && root.cause !== root) {
        root = root.cause;
      }
      const cause = root !== e ? ` (cause: ${errorText(root)})` : '';
      c.log('ERROR: %s failed: %s%s', what, errorText(e), cause);
      c.emit({ event: 'error', error: `${what} failed: ${e.message}${cause}` });
    }
    await hang(c.EXIT_FAIL);
  }
}

/** client.shutdown() (NotifyClientTermination, streams and channels closed), at most SHUTDOWN_GRACE. */
async function shutdownBounded(client, what) {
  try {
    await bounded(client.shutdown(), c.SHUTDOWN_GRACE_MS);
  } catch (e) {
    if (e.timedOut) {
      c.log('warning: %s shutdown did not finish within %ds', what, c.SHUTDOWN_GRACE_MS / 1000);
      c.emit({ event: 'shutdown_timeout' });
    } else {
      c.log('warning: %s shutdown failed: %s', what, errorText(e));
    }
  }
}

/** A stop flag set by SIGTERM/SIGINT; wait(ms) resolves after ms or as soon as it is set. */
function installStopSignals() {
  const waiters = new Set();
  const stop = {
    set: false,
    fire() {
      stop.set = true;
      for (const w of waiters) {
        w();
      }
      waiters.clear();
    },
    wait(ms) {
      if (stop.set) {
        return Promise.resolve();
      }
      return new Promise(resolve => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, ms));
        waiters.add(done);
      });
    },
  };
  for (const sig of [ 'SIGTERM', 'SIGINT' ]) {
    process.on(sig, () => {
      c.log('received signal %s, stopping', sig);
      stop.fire();
    });
  }
  return stop;
}

/**
 * Errors the client leaves unhandled (a rejected promise in a timer, an exception in a stream
 * callback) would end node; log them on stderr and go on, as the Python client's threads do.
 */
function guardProcess() {
  process.on('unhandledRejection', e => {
    c.log('ERROR: unhandled rejection in the client: %s', e && e.stack ? e.stack : e);
  });
  process.on('uncaughtException', e => {
    c.log('ERROR: uncaught exception in the client: %s', e && e.stack ? e.stack : e);
  });
}

module.exports = {
  ...c,
  CLIENT,
  CLIENT_LOG,
  COMMON_OPTIONS,
  parseArgs,
  parseEndpoint,
  preflight,
  useLogHome,
  importClient,
  sentIds,
  clientOptions,
  filterExpression,
  text,
  messageLine,
  errorText,
  bounded,
  startupBounded,
  shutdownBounded,
  installStopSignals,
  guardProcess,
  hang,
};
