#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""SimpleConsumer driven through PyPI rocketmq-python-client==5.1.2 (Apache RocketMQ 5.x client, gRPC).

    compat/.venv-grpc/bin/python compat/grpc_py/simple_consumer.py --endpoint 127.0.0.1:8081 --topic T \
        --group G [--tag-expr '*' | 'A||B'] [--sql EXPR] [--expect N] [--linger S] [--batch 16] \
        [--invisible-s 15] [--await-s 5] [--no-ack-first K] [--change-invisible-s S] [--max-errors 3] \
        [--namespace NS] [--request-timeout 3] [--timeout 60] [--log-home DIR] [--verbose]

Receive loop: SimpleConsumer.receive(--batch, --invisible-s) (a long poll of --await-s seconds), then for
each message, in order:
  --change-invisible-s S  on the first delivery of a body, change_invisible_duration(msg, S) (the client
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
  was acknowledged successfully.  queueId, queueOffset and storeHost come from the received protobuf
  (rocketmq.Message does not expose them).
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
"""
from __future__ import print_function

import argparse
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep compat/grpc_py free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _driver as d  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_common_args(p)
    p.add_argument("--topic", required=True)
    p.add_argument("--group", required=True, help="consumer group")
    p.add_argument("--tag-expr", default="*", help="TAG filter: '*' or 'A||B'")
    p.add_argument("--sql", default=None, help="SQL92 filter instead of --tag-expr")
    p.add_argument("--expect", type=int, default=None, help="exit 0 after N distinct bodies acknowledged")
    p.add_argument("--linger", type=float, default=0.0, help="keep consuming S seconds after --expect")
    p.add_argument("--batch", type=int, default=16, help="max messages per receive")
    p.add_argument("--invisible-s", type=int, default=15, help="invisible duration of received messages, s")
    p.add_argument("--await-s", type=int, default=5, help="long-polling time of a receive, s")
    p.add_argument("--no-ack-first", type=int, default=0, help="do not ack the first K deliveries of a body")
    p.add_argument("--change-invisible-s", type=int, default=None,
                   help="change_invisible_duration(S) on the first delivery of a body")
    p.add_argument("--max-errors", type=int, default=3, help="exit 1 after K failed receives in a row")
    args = p.parse_args(argv)
    if args.expect is not None and args.expect < 0:
        p.error("--expect must be >= 0")
    if args.batch < 1 or args.invisible_s < 1 or args.await_s < 1 or args.max_errors < 1:
        p.error("--batch, --invisible-s, --await-s and --max-errors must be >= 1")
    if args.no_ack_first < 0:
        p.error("--no-ack-first must be >= 0")
    if args.change_invisible_s is not None and args.change_invisible_s < 1:
        p.error("--change-invisible-s must be >= 1")
    return args


class State(object):
    def __init__(self):
        self.lock = threading.Lock()
        self.deliveries = {}  # body -> deliveries seen
        self.acked = set()  # bodies acknowledged
        self.total = 0
        self.expect_reached_at = None
        self.fatal = None


def main(argv):
    d.set_name("grpc-simple-consumer")
    args = parse_args(argv)
    d.start_watchdog(args.timeout + d.WATCHDOG_EXTRA, "simple consumer")
    d.preflight(args.endpoint)
    d.use_log_home(args.log_home)
    rmq = d.import_client(args.verbose)

    t0 = time.time()
    stop = threading.Event()
    d.install_stop_signals(stop)
    state = State()

    consumer = rmq.SimpleConsumer(d.client_config(rmq, args), args.group,
                                  subscription={args.topic: d.filter_expression(rmq, args)},
                                  await_duration=args.await_s)
    # startup() queries the topic route (bounded by --request-timeout) but does not fail when that fails.
    d.startup_bounded(consumer, t0 + args.timeout, "consumer startup")
    d.emit({"event": "started", "client": d.CLIENT, "pid": os.getpid(), "clientId": consumer.client_id,
            "endpoint": args.endpoint, "group": args.group, "topic": args.topic,
            "expr": args.sql or args.tag_expr})
    d.log("started: endpoint=%s group=%s topic=%s expect=%s", args.endpoint, args.group, args.topic, args.expect)

    def handle(msg):
        body = d.text(msg.body)
        with state.lock:
            n = state.deliveries.get(body, 0) + 1
            state.deliveries[body] = n
            state.total += 1
        extra = {}
        if args.change_invisible_s is not None and n == 1:
            try:
                consumer.change_invisible_duration(msg, args.change_invisible_s)
                extra["invisibleChanged"] = True
            except Exception as e:
                extra["invisibleChanged"] = False
                extra["changeInvisibleError"] = d.error_text(e)
        acked = False
        if n > args.no_ack_first:
            try:
                consumer.ack(msg)
                acked = True
            except Exception as e:
                extra["ackError"] = d.error_text(e)
        if acked:
            with state.lock:
                state.acked.add(body)
                if (args.expect is not None and state.expect_reached_at is None
                        and len(state.acked) >= args.expect):
                    state.expect_reached_at = time.time()
        line = d.message_line(msg, n, acked)
        line.update(extra)
        d.emit(line)

    def receive_loop():
        failures = 0
        while not stop.is_set():
            try:
                messages = consumer.receive(args.batch, args.invisible_s)
            except Exception as e:
                if stop.is_set():
                    return
                failures += 1
                d.log("receive failed (%d in a row): %s", failures, d.error_text(e))
                d.emit({"event": "receive_error", "error": d.error_text(e)})
                if failures >= args.max_errors:
                    state.fatal = "%d receives in a row failed, last: %s" % (failures, d.error_text(e))
                    return
                stop.wait(1.0)
                continue
            failures = 0
            for msg in messages or ():
                try:
                    handle(msg)
                except Exception as e:
                    state.fatal = "handling a message failed: %s" % d.error_text(e)
                    return

    # receive() blocks up to --await-s + --request-timeout; a thread keeps SIGTERM and --timeout prompt.
    worker = threading.Thread(target=receive_loop, name="receive", daemon=True)
    worker.start()

    reason, code = "timeout", d.EXIT_OK
    while True:
        now = time.time()
        with state.lock:
            got = len(state.acked)
            reached = state.expect_reached_at
        if state.fatal:
            d.log("ERROR: %s", state.fatal)
            d.emit({"event": "error", "error": state.fatal})
            reason, code = "error", d.EXIT_FAIL
            break
        if stop.is_set():
            reason, code = "signal", d.EXIT_OK
            break
        if reached is not None and now - reached >= args.linger:
            reason, code = "expect", d.EXIT_OK
            break
        if now - t0 >= args.timeout:
            reason = "timeout"
            if args.expect is not None and reached is None:
                d.log("ERROR: --timeout %.0fs reached with %d/%d bodies acknowledged", args.timeout, got, args.expect)
                code = d.EXIT_FAIL
            break
        time.sleep(0.05)

    stop.set()
    d.shutdown_bounded(consumer, "consumer")
    with state.lock:
        summary = {"event": "done", "reason": reason, "received": len(state.acked), "deliveries": state.total,
                   "exitCode": code}
    d.emit(summary)
    d.log("%s: reason=%s received=%d deliveries=%d", "ok" if code == 0 else "FAILED", reason,
          summary["received"], summary["deliveries"])
    d.hard_exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
