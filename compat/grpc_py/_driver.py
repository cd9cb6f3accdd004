# -*- coding: utf-8 -*-
"""Shared plumbing for the rocketmq-python-client==5.1.2 (Apache RocketMQ 5.x gRPC client) compat scripts.

The generic parts (JSON lines on stdout, logs on stderr, exit codes, watchdog, signals) come from
compat/cpp/_compat.py, so that every Python driver behaves the same:
  * stdout carries one JSON object per line (flushed per line); every object has an "event" key.
  * exit 0 on success, 1 on a failed run, 2 on bad usage / unreachable endpoint / missing client,
    3 when the watchdog fired (--timeout + 15 s).
"""
from __future__ import print_function

import logging
import os
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
_CPP_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cpp")
sys.path.insert(0, _CPP_DIR)
from _compat import (EXIT_FAIL, EXIT_OK, EXIT_USAGE, EXIT_WATCHDOG, SHUTDOWN_GRACE,  # noqa: E402,F401
                     WATCHDOG_EXTRA, emit, hard_exit, install_stop_signals, log, positive_float,
                     run_bounded, set_name, start_watchdog)
sys.path.remove(_CPP_DIR)  # compat/cpp also holds producer.py and consumer.py

CLIENT = "grpc-py"
CLIENT_LOGGER = "rocketmq-python-client"  # the logger rocketmq/v5/log/log_config.py configures


def add_common_args(p):
    p.add_argument("--endpoint", required=True, help="gRPC endpoint HOST:PORT (cleartext HTTP/2)")
    p.add_argument("--namespace", default="", help="resource namespace (default: none)")
    p.add_argument("--request-timeout", type=int, default=3,
                   help="the client's per-request timeout, whole seconds (client default 3)")
    p.add_argument("--timeout", type=positive_float, default=60.0, help="bound on the whole run, seconds")
    p.add_argument("--log-home", default=None,
                   help="directory used as $HOME by the client (its log: DIR/logs/rocketmq_python/rocketmq_client.log)")
    p.add_argument("--verbose", action="store_true", help="also copy the client's own log (INFO) to stderr")


def parse_endpoint(value):
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError("--endpoint must be HOST:PORT, got %r" % value)
    return host, int(port)


def preflight(endpoint, timeout=3.0):
    """Fails fast (exit 2) when nothing accepts TCP connections on the endpoint."""
    try:
        host, port = parse_endpoint(endpoint)
    except ValueError as e:
        log("ERROR: %s", e)
        emit({"event": "error", "error": str(e)})
        hard_exit(EXIT_USAGE)
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
    log("ERROR: endpoint %s is not reachable: %s", endpoint, last)
    emit({"event": "error", "error": "endpoint %s unreachable: %s" % (endpoint, last)})
    hard_exit(EXIT_USAGE)


def use_log_home(path):
    """The client logs to ~/logs/rocketmq_python/rocketmq_client.log, with ~ read when it is imported
    (rocketmq/v5/log/log_config.py); point $HOME elsewhere first."""
    if path:
        path = os.path.abspath(path)
        os.makedirs(path, exist_ok=True)
        os.environ["HOME"] = path


def import_client(verbose=False):
    """Imports rocketmq-python-client (module `rocketmq`, API in rocketmq.v5) or exits 2."""
    try:
        import rocketmq
        import rocketmq.v5  # noqa: F401  (PyPI rocketmq==0.4.4 also installs `rocketmq`, without v5)
    except Exception as e:
        log("ERROR: cannot import rocketmq-python-client (%s: %s); run compat/setup.sh first and use "
            "compat/.venv-grpc/bin/python", type(e).__name__, e)
        emit({"event": "error", "error": "rocketmq-python-client not importable: %s" % e})
        hard_exit(EXIT_USAGE)
    if verbose:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("[client %(asctime)s %(levelname)s] %(message)s"))
        logging.getLogger(CLIENT_LOGGER).addHandler(h)
    _keep_queue_position(rocketmq.Message)
    return rocketmq


def _keep_queue_position(message_cls):
    """rocketmq.Message has no queue_id, queue_offset, store_host or store_timestamp property (fromProtobuf
    drops the first three and keeps the last one private); keep them from the received protobuf."""
    original = message_cls.fromProtobuf
    if getattr(original, "_ferromq", False):
        return

    def from_protobuf(self, pb):
        out = original(self, pb)
        sp = pb.system_properties
        self.ferromq_queue_id = sp.queue_id
        self.ferromq_queue_offset = sp.queue_offset if sp.HasField("queue_offset") else None
        self.ferromq_store_host = sp.store_host or None
        self.ferromq_store_timestamp = (sp.store_timestamp.seconds * 1000 + sp.store_timestamp.nanos // 1000000
                                        if sp.HasField("store_timestamp") else None)
        return out

    from_protobuf._ferromq = True
    message_cls.fromProtobuf = from_protobuf


def client_config(rmq, args):
    parse_endpoint(args.endpoint)  # the client logs and keeps None on a bad string
    return rmq.ClientConfiguration(args.endpoint, rmq.Credentials(), namespace=args.namespace,
                                   request_timeout=args.request_timeout)


def filter_expression(rmq, args):
    from rocketmq.grpc_protocol import FilterType
    if args.sql:
        return rmq.FilterExpression(args.sql, FilterType.SQL92)
    return rmq.FilterExpression(args.tag_expr, FilterType.TAG)


def text(value):
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def message_line(msg, delivery, acked):
    """The {"event":"message"} line for a received rocketmq.Message (keys of None values left out)."""
    out = {
        "event": "message", "body": text(msg.body), "tag": msg.tag, "keys": sorted(msg.keys),
        "props": dict(msg.properties), "topic": msg.topic,
        "queueId": getattr(msg, "ferromq_queue_id", None),
        "queueOffset": getattr(msg, "ferromq_queue_offset", None),
        "messageId": msg.message_id, "deliveryAttempt": msg.delivery_attempt,
        "messageGroup": msg.message_group, "delivery": delivery, "acked": acked,
        "bornTimestamp": msg.born_timestamp, "bornHost": msg.born_host or None,
        "storeTimestamp": getattr(msg, "ferromq_store_timestamp", None),
        # fromProtobuf reads an unset delivery_timestamp as 0
        "deliveryTimestamp": msg.delivery_timestamp or None, "storeHost": getattr(msg, "ferromq_store_host", None),
    }
    return {k: v for k, v in out.items() if v is not None}


def startup_bounded(client, deadline, what):
    """client.startup() on a thread, bounded by the deadline; exits 1 when it fails or hangs.

    A PushConsumer that got no settings within 10 s raises IllegalStateException, then fails again in its
    own cleanup (AttributeError: its consumption is None) and raises that instead: report both."""
    def start():
        try:
            client.startup()
        except Exception as e:
            cause = e.__context__
            if cause is not None and not isinstance(e, type(cause)):
                raise RuntimeError("%s (then, in the client's cleanup: %s)" % (error_text(cause), error_text(e)))
            raise

    run_bounded(start, deadline, what)


def shutdown_bounded(client, what):
    """client.shutdown() (NotifyClientTermination, channels closed) on a thread, at most SHUTDOWN_GRACE."""
    done = threading.Event()

    def target():
        try:
            client.shutdown()
        except Exception as e:
            log("warning: %s shutdown failed: %s: %s", what, type(e).__name__, e)
        done.set()

    threading.Thread(target=target, name="shutdown", daemon=True).start()
    if not done.wait(SHUTDOWN_GRACE):
        log("warning: %s shutdown did not finish within %.0fs", what, SHUTDOWN_GRACE)
        emit({"event": "shutdown_timeout"})


def error_text(e):
    return "%s: %s" % (type(e).__name__, e)
