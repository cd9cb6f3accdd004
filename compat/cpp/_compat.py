# -*- coding: utf-8 -*-
"""Shared plumbing for the rocketmq==0.4.4 (Apache rocketmq-client-cpp via ctypes) compat scripts.

Conventions shared with compat/node/*.js:
  * stdout carries one JSON object per line (flushed per line); every object has an "event" key.
  * stderr carries human-readable logs.
  * exit 0 on success, 1 on a failed run, 2 on bad usage / unreachable name server / missing client.
  * every run is bounded by --timeout; a hard watchdog ends the process a little after it.
"""
from __future__ import print_function

import json
import os
import signal
import socket
import sys
import threading
import time

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_WATCHDOG = 3

# Time allowed for the client's shutdown (unregister) once the run is over.
SHUTDOWN_GRACE = 10.0
# The watchdog ends the process this long after --timeout, whatever it is doing.
WATCHDOG_EXTRA = 15.0

_out_lock = threading.Lock()
_name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "cpp"
_t0 = time.time()


def set_name(name):
    global _name
    _name = name


def log(fmt, *args):
    msg = fmt % args if args else fmt
    line = "[%s %s +%.1fs] %s\n" % (_name, os.getpid(), time.time() - _t0, msg)
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except Exception:
        pass


def emit(obj):
    """Writes one JSON line to stdout and flushes it."""
    line = json.dumps(obj, sort_keys=False)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def hard_exit(code):
    """Flushes and leaves without running ctypes/C++ destructors (which may block or crash)."""
    try:
        sys.stdout.flush()
    except Exception:
        pass
    try:
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(code)


def parse_namesrv(value):
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError("--namesrv must be HOST:PORT, got %r" % value)
    return host, int(port)


def preflight(namesrv, timeout=3.0):
    """Fails fast with a clear message when nothing listens on the name server address."""
    host, port = parse_namesrv(namesrv)
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            s = socket.create_connection((host, port), timeout=max(0.2, deadline - time.time()))
            s.close()
            return
        except (OSError, socket.error) as e:  # noqa: B014
            last = e
            time.sleep(0.2)
    log("ERROR: name server %s is not reachable: %s", namesrv, last)
    emit({"event": "error", "error": "namesrv %s unreachable: %s" % (namesrv, last)})
    hard_exit(EXIT_USAGE)


def start_watchdog(seconds, what):
    """Kills the process (exit 3) when it is still alive after `seconds`."""
    def fire():
        log("ERROR: watchdog: %s still running after %.0fs, killing myself", what, seconds)
        try:
            emit({"event": "error", "error": "watchdog fired after %.0fs" % seconds})
        except Exception:
            pass
        hard_exit(EXIT_WATCHDOG)

    t = threading.Timer(seconds, fire)
    t.daemon = True
    t.start()
    return t


def install_stop_signals(stop_event):
    """SIGTERM/SIGINT request a clean stop instead of killing the process outright."""
    def handler(signum, _frame):
        log("received signal %d, stopping", signum)
        stop_event.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def use_log_home(path):
    """rocketmq-client-cpp writes $HOME/logs/rocketmq-cpp/<pid>_rocketmq-cpp.log.N; redirect it."""
    if path:
        path = os.path.abspath(path)
        try:
            os.makedirs(path)
        except OSError:
            pass
        os.environ["HOME"] = path


def import_rocketmq():
    """Imports the rocketmq==0.4.4 wrapper or exits 2 with setup instructions."""
    try:
        import rocketmq  # noqa: F401
        from rocketmq import client, ffi, exceptions
    except Exception as e:  # ImportError, OSError from the .so
        log("ERROR: cannot import the 'rocketmq' package (%s: %s); run compat/setup.sh first and use "
            "compat/.venv/bin/python", type(e).__name__, e)
        emit({"event": "error", "error": "rocketmq not importable: %s" % e})
        hard_exit(EXIT_USAGE)
    return client, ffi, exceptions


def to_text(value):
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def split_csv(value):
    if not value:
        return []
    return [v for v in (p.strip() for p in value.split(",")) if v]


def positive_float(value):
    v = float(value)
    if v <= 0:
        raise ValueError("must be > 0")
    return v


def run_bounded(fn, deadline, what):
    """Runs fn() on a worker thread; exits 1 when it raises or is still running at `deadline`."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: B902
            box["error"] = e

    t = threading.Thread(target=target, name=what, daemon=True)
    t.start()
    t.join(max(0.0, deadline - time.time()))
    if t.is_alive():
        log("ERROR: %s did not finish before --timeout", what)
        emit({"event": "error", "error": "%s timed out" % what})
        hard_exit(EXIT_FAIL)
    if "error" in box:
        e = box["error"]
        log("ERROR: %s failed: %s: %s", what, type(e).__name__, e)
        emit({"event": "error", "error": "%s failed: %s" % (what, e)})
        hard_exit(EXIT_FAIL)
    return box.get("value")
