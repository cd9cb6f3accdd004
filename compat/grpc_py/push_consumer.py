#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""PushConsumer driven through PyPI rocketmq-python-client==5.1.2 (Apache RocketMQ 5.x client, gRPC).

    compat/.venv-grpc/bin/python compat/grpc_py/push_consumer.py --endpoint 127.0.0.1:8081 --topic T \
        --group G [--tag-expr '*' | 'A||B'] [--sql EXPR] [--expect N] [--linger S] [--fail-first-times K] \
        [--threads 20] [--namespace NS] [--request-timeout 3] [--timeout 60] [--log-home DIR] [--verbose]

PushConsumer(listener): the client asks the server for its queue assignment (QueryAssignment, every 5 s),
long-polls each assigned queue (ReceiveMessage, auto_renew) and calls the MessageListener once per message.
SUCCESS makes the client ack the message; FAILURE makes it call ChangeInvisibleDuration with the retry
backoff the server's settings give (1 s without one), so the message comes back with deliveryAttempt + 1.
Whether the group is FIFO is decided by the server (Settings.subscription.fifo): a FIFO consumer calls the
listener for one message group in order, retries a failed message itself (same deliveryAttempt, after
the backoff) and forwards it to the dead-letter queue after max attempts.

--fail-first-times K  the listener answers FAILURE to the first K deliveries of every body.

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
startup() waits up to 10 s for the server's settings (Telemetry stream) and fails without them: exit 1.
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
    p.add_argument("--expect", type=int, default=None, help="exit 0 after N distinct bodies consumed")
    p.add_argument("--linger", type=float, default=0.0, help="keep consuming S seconds after --expect")
    p.add_argument("--fail-first-times", type=int, default=0,
                   help="answer FAILURE to the first K deliveries of every body")
    p.add_argument("--threads", type=int, default=20, help="consumption threads (client default 20)")
    args = p.parse_args(argv)
    if args.expect is not None and args.expect < 0:
        p.error("--expect must be >= 0")
    if args.fail_first_times < 0:
        p.error("--fail-first-times must be >= 0")
    if args.threads < 1:
        p.error("--threads must be >= 1")
    return args


class State(object):
    def __init__(self):
        self.lock = threading.Lock()
        self.deliveries = {}  # body -> listener calls seen
        self.succeeded = set()  # bodies answered SUCCESS
        self.total = 0
        self.expect_reached_at = None
        self.internal_error = None


def main(argv):
    d.set_name("grpc-push-consumer")
    args = parse_args(argv)
    d.start_watchdog(args.timeout + d.WATCHDOG_EXTRA, "push consumer")
    d.preflight(args.endpoint)
    d.use_log_home(args.log_home)
    rmq = d.import_client(args.verbose)

    t0 = time.time()
    stop = threading.Event()
    d.install_stop_signals(stop)
    state = State()

    class Listener(rmq.MessageListener):
        def consume(self, message):
            # Runs on a consumption thread; an exception would count as FAILURE, keep the driver's own apart.
            try:
                body = d.text(message.body)
                with state.lock:
                    n = state.deliveries.get(body, 0) + 1
                    state.deliveries[body] = n
                    state.total += 1
                    ok = n > args.fail_first_times
                    if ok:
                        state.succeeded.add(body)
                        if (args.expect is not None and state.expect_reached_at is None
                                and len(state.succeeded) >= args.expect):
                            state.expect_reached_at = time.time()
                d.emit(d.message_line(message, n, ok))
                return rmq.ConsumeResult.SUCCESS if ok else rmq.ConsumeResult.FAILURE
            except Exception as e:
                state.internal_error = d.error_text(e)
                d.log("ERROR: listener failed: %s", state.internal_error)
                return rmq.ConsumeResult.SUCCESS

    consumer = rmq.PushConsumer(d.client_config(rmq, args), args.group, Listener(),
                                subscription={args.topic: d.filter_expression(rmq, args)},
                                consumption_thread_count=args.threads)
    d.startup_bounded(consumer, t0 + args.timeout, "consumer startup")
    d.emit({"event": "started", "client": d.CLIENT, "pid": os.getpid(), "clientId": consumer.client_id,
            "endpoint": args.endpoint, "group": args.group, "topic": args.topic,
            "expr": args.sql or args.tag_expr, "fifo": consumer.fifo})
    d.log("started: endpoint=%s group=%s topic=%s fifo=%s expect=%s", args.endpoint, args.group, args.topic,
          consumer.fifo, args.expect)

    reason, code = "timeout", d.EXIT_OK
    while True:
        now = time.time()
        with state.lock:
            got = len(state.succeeded)
            reached = state.expect_reached_at
        if stop.is_set():
            reason, code = "signal", d.EXIT_OK
            break
        if reached is not None and now - reached >= args.linger:
            reason, code = "expect", d.EXIT_OK
            break
        if now - t0 >= args.timeout:
            reason = "timeout"
            if args.expect is not None and reached is None:
                d.log("ERROR: --timeout %.0fs reached with %d/%d bodies consumed", args.timeout, got, args.expect)
                code = d.EXIT_FAIL
            break
        time.sleep(0.05)

    if state.internal_error and code == d.EXIT_OK:
        d.emit({"event": "error", "error": "listener: %s" % state.internal_error})
        code = d.EXIT_FAIL
    d.shutdown_bounded(consumer, "consumer")
    with state.lock:
        summary = {"event": "done", "reason": reason, "received": len(state.succeeded),
                   "deliveries": state.total, "exitCode": code}
    d.emit(summary)
    d.log("%s: reason=%s received=%d deliveries=%d", "ok" if code == 0 else "FAILED", reason,
          summary["received"], summary["deliveries"])
    d.hard_exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
