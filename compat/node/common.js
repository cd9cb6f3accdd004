'use strict';
// Shared plumbing for the ali-ons@3.12.0 compat scripts (same conventions as compat/cpp/_compat.py):
//  * stdout: one JSON object per line, every object has an "event" key;
//  * stderr: human-readable logs;
//  * exit 0 success, 1 failed run, 2 bad usage / unreachable name server / client not installed,
//    3 watchdog;
//  * every run is bounded by --timeout, a watchdog ends the process WATCHDOG_EXTRA_MS after it.

const net = require('net');
const util = require('util');

const EXIT_OK = 0;
const EXIT_FAIL = 1;
const EXIT_USAGE = 2;
const EXIT_WATCHDOG = 3;
const SHUTDOWN_GRACE_MS = 10000;
const WATCHDOG_EXTRA_MS = 15000;

let name = 'node';
const t0 = Date.now();

function setName(n) {
  name = n;
}

function log(...args) {
  const msg = util.format(...args);
  process.stderr.write(`[${name} ${process.pid} +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
}

// process.stdout is synchronous for files and pipes on POSIX, so each line is flushed when written.
function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function exit(code) {
  // Let pending stdout/stderr writes drain, then leave (ali-ons keeps timers and sockets alive).
  process.exitCode = code;
  const done = () => process.exit(code);
  if (process.stdout.writableLength || process.stderr.writableLength) {
    process.stdout.write('', () => process.stderr.write('', done));
    setTimeout(done, 2000).unref();
  } else {
    done();
  }
}

function usage(text, msg) {
  if (msg) {
    process.stderr.write(`error: ${msg}\n\n`);
  }
  process.stderr.write(text);
  process.exit(msg ? EXIT_USAGE : EXIT_OK);
}

// spec: { name: { type: 'string'|'int'|'float'|'bool', default, required } }, names without "--".
function parseArgs(argv, spec, text) {
  const out = {};
  for (const [key, s] of Object.entries(spec)) {
    out[key] = s.type === 'bool' ? false : (s.default === undefined ? null : s.default);
  }
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      usage(text);
    }
    if (!arg.startsWith('--')) {
      usage(text, `unexpected argument ${arg}`);
    }
    arg = arg.slice(2);
    let value = null;
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const s = spec[arg];
    if (!s) {
      usage(text, `unknown option --${arg}`);
    }
    if (s.type === 'bool') {
      out[arg] = value === null ? true : !/^(0|false|no)$/i.test(value);
      continue;
    }
    if (value === null) {
      if (i + 1 >= argv.length) {
        usage(text, `--${arg} needs a value`);
      }
      value = argv[++i];
    }
    if (s.type === 'int') {
      if (!/^-?\d+$/.test(value)) {
        usage(text, `--${arg} must be an integer, got ${value}`);
      }
      out[arg] = parseInt(value, 10);
    } else if (s.type === 'float') {
      const v = Number(value);
      if (!Number.isFinite(v)) {
        usage(text, `--${arg} must be a number, got ${value}`);
      }
      out[arg] = v;
    } else {
      out[arg] = value;
    }
  }
  for (const [key, s] of Object.entries(spec)) {
    if (s.required && (out[key] === null || out[key] === undefined)) {
      usage(text, `--${key} is required`);
    }
  }
  return out;
}

function parseNamesrv(value) {
  const idx = value.lastIndexOf(':');
  const host = value.slice(0, idx);
  const port = Number(value.slice(idx + 1));
  if (idx <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`--namesrv must be HOST:PORT, got ${value}`);
  }
  return { host, port };
}

// Fails fast (exit 2) with a clear message when nothing listens on the name server address.
async function preflight(namesrv, timeoutMs = 3000) {
  let addr;
  try {
    addr = parseNamesrv(namesrv);
  } catch (err) {
    log('ERROR: %s', err.message);
    emit({ event: 'error', error: err.message });
    exit(EXIT_USAGE);
    return new Promise(() => {});
  }
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    try {
      await new Promise((resolve, reject) => {
        const sock = net.connect({ host: addr.host, port: addr.port });
        const timer = setTimeout(() => {
          sock.destroy();
          reject(new Error('connect timed out'));
        }, Math.max(200, deadline - Date.now()));
        sock.once('connect', () => {
          clearTimeout(timer);
          sock.end();
          sock.destroy();
          resolve();
        });
        sock.once('error', err => {
          clearTimeout(timer);
          reject(err);
        });
      });
      return;
    } catch (err) {
      last = err;
      await sleep(200);
    }
  }
  log('ERROR: name server %s is not reachable: %s', namesrv, last && last.message);
  emit({ event: 'error', error: `namesrv ${namesrv} unreachable: ${last && last.message}` });
  exit(EXIT_USAGE);
  return new Promise(() => {});
}

function startWatchdog(ms, what) {
  const timer = setTimeout(() => {
    log('ERROR: watchdog: %s still running after %ds, killing myself', what, Math.round(ms / 1000));
    emit({ event: 'error', error: `watchdog fired after ${Math.round(ms / 1000)}s` });
    process.exit(EXIT_WATCHDOG);
  }, ms);
  timer.unref();
  return timer;
}

function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms));
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function requireAliOns() {
  try {
    const ons = require('ali-ons');
    const version = require('ali-ons/package.json').version;
    return { ons, version };
  } catch (err) {
    log('ERROR: cannot load ali-ons (%s); run compat/setup.sh first (installs compat/node_modules)', err.message);
    emit({ event: 'error', error: `ali-ons not installed: ${err.message}` });
    process.exit(EXIT_USAGE);
  }
  return null;
}

// ali-ons always asserts options.httpclient, even when nameSrv is given (it is only used to ask the
// Aliyun address server for name servers). This one refuses every request.
const dummyHttpClient = {
  async request(url) {
    throw new Error(`compat: no HTTP name server lookup (asked for ${url})`);
  },
};

// Logger handed to ali-ons: warn/error go to stderr, info/debug only with --verbose.
function makeLogger(verbose) {
  const fmt = args => args.map(a => (a instanceof Error ? (a.stack || a.message) : a));
  return {
    info: (...args) => verbose && log('info: %s', util.format(...fmt(args))),
    debug: (...args) => verbose && log('debug: %s', util.format(...fmt(args))),
    warn: (...args) => log('warn: %s', util.format(...fmt(args))),
    error: (...args) => log('error: %s', util.format(...fmt(args))),
  };
}

function splitCsv(value) {
  if (!value) {
    return [];
  }
  return value.split(',').map(s => s.trim()).filter(Boolean);
}

module.exports = {
  EXIT_OK,
  EXIT_FAIL,
  EXIT_USAGE,
  EXIT_WATCHDOG,
  SHUTDOWN_GRACE_MS,
  WATCHDOG_EXTRA_MS,
  setName,
  log,
  emit,
  exit,
  parseArgs,
  preflight,
  startWatchdog,
  sleep,
  withTimeout,
  requireAliOns,
  dummyHttpClient,
  makeLogger,
  splitCsv,
};
