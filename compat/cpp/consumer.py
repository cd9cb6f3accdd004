#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Clustering push consumer driven through PyPI rocketmq==0.4.4 (Apache rocketmq-client-cpp).

    compat/.venv/bin/python compat/cpp/consumer.py --namesrv 127.0.0.1:9876 --topic T --group G \
        [--expr '*' | 'TagA||TagB'] [--expect N] [--linger S] [--idle-exit S] [--fail-first-times K] \
        [--orderly] [--instance NAME] [--threads N] [--redelivery-delay-ms MS] [--timeout 60] [--log-home DIR]

stdout, one JSON line per delivery (every call of the message listener):
  {"event":"message","body":...,"tags":...,"keys":...,"topic":...,"queueId":N,"queueOffset":N,
   "msgId":...,"reconsumeTimes":N,"instance":...,"result":"ok"|"retry","delivery":n,
   "commitLogOffset":N,"bornTimestamp":N,"storeTimestamp":N,"props":{...}}
  result "retry" means this delivery was answered RECONSUME_LATER (see --fail-first-times);
  delivery is the 1-based count of deliveries of that body seen by this process.
other lines: {"event":"started",...}, {"event":"done","reason":...,"received":N,"deliveries":N},
  {"event":"shutdown_timeout"} and {"event":"error",...}.

Exit conditions:
  --expect N     exit 0 once N distinct bodies were consumed successfully (after --linger S more seconds,
                 to catch duplicates or unexpected extra messages); exit 1 if --timeout comes first.
  --idle-exit S  exit after S seconds without any delivery (0, or 1 when --expect is set and not reached).
  --timeout S    end of the run: exit 0 unless --expect was set and not reached (default 60).
  SIGTERM/SIGINT clean shutdown (unregisters from the broker), exit 0.
--fail-first-times K answers RECONSUME_LATER to the first K deliveries of every body (judged by body), so
  the client sends the message back (CONSUMER_SEND_MSG_BACK) and it returns through %RETRY%<group>.
  A delivery with reconsumeTimes >= K is always accepted: rocketmq-client-cpp 1.0.x passes a whole
  pulled batch to one listener call and, when one message fails, sends the WHOLE batch back (also the
  messages before it that succeeded and the ones after it that the listener never saw), so messages
  can come back more often, or first show up with reconsumeTimes > 0.
  With --orderly a failed message is instead retried locally (SUSPEND_CURRENT_QUEUE_A_MOMENT).
--orderly uses RegisterMessageCallbackOrderly: the C++ client locks its queues on the broker
  (LOCK_BATCH_MQ) and consumes each queue with one thread, in queue order.
--redelivery-delay-ms MS sleeps MS milliseconds in the listener before handling a delivery of a body this
  process has already seen (its 2nd and later deliveries): a replay after a backward offset reset then takes
  a while, without slowing down the first pass. The delivery line is printed after the sleep.
--instance NAME sets the client instance name; the C++ client id is "<pid>-<ip>@<instance>" (the pid
  already differs between processes, the default instance is DEFAULT).

Note: rocketmq 0.4.4's own PushConsumer.subscribe() wrapper re-raises callback exceptions inside the
ctypes callback, so RECONSUME_LATER never reaches the C++ client; this script registers its own
callback through the C API instead and returns the status code explicitly.
"""
from __future__ import print_function

import argparse
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep compat/cpp free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _compat as c  # noqa: E402

CONSUME_SUCCESS = 0
RECONSUME_LATER = 1
INTERESTING_PROPS = ("UNIQ_KEY", "RETRY_TOPIC", "ORIGIN_MESSAGE_ID", "REAL_TOPIC", "REAL_QID", "DELAY",
                     "RECONSUME_TIME", "MAX_RECONSUME_TIMES", "MIN_OFFSET", "MAX_OFFSET", "WAIT",
                     "__SHARDING_KEY")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--namesrv", required=True, help="name server HOST:PORT")
    p.add_argument("--topic", required=True)
    p.add_argument("--group", required=True, help="consumer group")
    p.add_argument("--expr", default="*", help="subscription expression: '*' or 'TagA||TagB'")
    p.add_argument("--expect", type=int, default=None, help="exit 0 after N distinct bodies consumed")
    p.add_argument("--linger", type=float, default=0.0, help="keep consuming S seconds after --expect")
    p.add_argument("--idle-exit", type=float, default=None, help="exit after S seconds without deliveries")
    p.add_argument("--fail-first-times", type=int, default=0,
                   help="answer RECONSUME_LATER to the first K deliveries of every body")
    p.add_argument("--orderly", action="store_true", help="orderly push consumer")
    p.add_argument("--instance", default=None, help="client instance name")
    p.add_argument("--threads", type=int, default=None, help="consume thread count (client default: cores)")
    p.add_argument("--redelivery-delay-ms", type=int, default=0,
                   help="sleep MS in the listener before handling a body's 2nd and later deliveries")
    p.add_argument("--timeout", type=c.positive_float, default=60.0, help="bound on the whole run, seconds")
    p.add_argument("--access-key", default=None, help="sign requests as this user (set_session_credentials)")
    p.add_argument("--secret-key", default="", help="the user's secret key")
    p.add_argument("--log-home", default=None,
                   help="directory used as $HOME by the C++ client (logs go to DIR/logs/rocketmq-cpp/)")
    args = p.parse_args(argv)
    if args.expect is not None and args.expect < 0:
        p.error("--expect must be >= 0")
    if args.fail_first_times < 0:
        p.error("--fail-first-times must be >= 0")
    if args.redelivery_delay_ms < 0:
        p.error("--redelivery-delay-ms must be >= 0")
    return args


class State(object):
    def __init__(self):
        self.lock = threading.Lock()
        self.deliveries = {}  # body -> number of deliveries seen
        self.succeeded = set()  # bodies consumed successfully
        self.total = 0
        self.last_delivery = time.time()
        self.expect_reached_at = None
        self.internal_error = None


def main(argv):
    c.set_name("cpp-consumer")
    args = parse_args(argv)
    c.start_watchdog(args.timeout + c.WATCHDOG_EXTRA, "consumer")
    c.preflight(args.namesrv)
    c.use_log_home(args.log_home)
    client, ffi, exceptions = c.import_rocketmq()
    dll = ffi.dll
    check = exceptions.ffi_check

    t0 = time.time()
    stop = threading.Event()
    c.install_stop_signals(stop)
    state = State()
    instance = args.instance or "DEFAULT"

    def on_message(_consumer, msg_handle):
        # Runs on a C++ consume thread.  Must never raise: an exception escaping a ctypes callback
        # makes the C++ side read an undefined return value.
        try:
            m = client.RecvMessage(msg_handle)
            body = c.to_text(m.body)
            if args.redelivery_delay_ms > 0:
                with state.lock:
                    seen = body in state.deliveries
                if seen:
                    time.sleep(args.redelivery_delay_ms / 1000.0)
            with state.lock:
                n = state.deliveries.get(body, 0) + 1
                state.deliveries[body] = n
                state.total += 1
                state.last_delivery = time.time()
                # A delivery whose reconsumeTimes already reached K is never failed: the C++ client sends a
                # whole pulled batch back when one message of it fails, so a message can return through
                # the retry topic without this listener ever having seen it.
                fail = n <= args.fail_first_times and m.reconsume_times < args.fail_first_times
                if not fail:
                    state.succeeded.add(body)
                    if (args.expect is not None and state.expect_reached_at is None
                            and len(state.succeeded) >= args.expect):
                        state.expect_reached_at = time.time()
            props = {}
            for name in INTERESTING_PROPS:
                v = c.to_text(m.get_property(name))
                if v:
                    props[name] = v
            c.emit({
                "event": "message", "body": body, "tags": c.to_text(m.tags), "keys": c.to_text(m.keys),
                "topic": m.topic, "queueId": m.queue_id, "queueOffset": m.queue_offset, "msgId": m.id,
                "reconsumeTimes": m.reconsume_times, "instance": instance,
                "result": "retry" if fail else "ok", "delivery": n,
                "commitLogOffset": m.commit_log_offset, "bornTimestamp": m.born_timestamp,
                "storeTimestamp": m.store_timestamp, "props": props,
            })
            return RECONSUME_LATER if fail else CONSUME_SUCCESS
        except BaseException as e:  # noqa: B902 - never let anything escape into C++
            state.internal_error = "%s: %s" % (type(e).__name__, e)
            c.log("ERROR: message callback failed: %s", state.internal_error)
            return CONSUME_SUCCESS

    callback = ffi.MSG_CALLBACK_FUNC(on_message)  # keep a reference for the whole run

    consumer = client.PushConsumer(args.group, orderly=args.orderly)  # message model CLUSTERING
    consumer.set_namesrv_addr(args.namesrv)
    if args.access_key:
        consumer.set_session_credentials(args.access_key, args.secret_key, "ALIYUN")
    if args.instance:
        consumer.set_instance_name(args.instance)
    if args.threads:
        consumer.set_thread_count(args.threads)
    # Ask for one message per listener call. rocketmq-client-cpp 1.0.x (the library in 0.4.4) ignores
    # it: it hands the whole pulled batch to the listener, and the C API's listener answers
    # RECONSUME_LATER for the whole batch, skipping the rest of it, as soon as one message fails.
    consumer.set_message_batch_max_size(1)
    check(dll.Subscribe(consumer._handle, args.topic.encode("utf-8"), args.expr.encode("utf-8")))
    if args.orderly:
        check(dll.RegisterMessageCallbackOrderly(consumer._handle, callback))
    else:
        check(dll.RegisterMessageCallback(consumer._handle, callback))
    # start() fetches routes synchronously and can block; the run (and --timeout) starts at launch.
    c.run_bounded(consumer.start, t0 + args.timeout, "consumer start")
    c.emit({"event": "started", "client": "cpp", "pid": os.getpid(), "instance": instance,
            "group": args.group, "topic": args.topic, "expr": args.expr, "orderly": args.orderly})
    c.log("started: group=%s topic=%s expr=%s orderly=%s instance=%s expect=%s", args.group, args.topic,
          args.expr, args.orderly, instance, args.expect)

    reason, code = "timeout", c.EXIT_OK
    while True:
        now = time.time()
        with state.lock:
            got = len(state.succeeded)
            reached = state.expect_reached_at
            idle_for = now - max(state.last_delivery, t0)
        if stop.is_set():
            reason, code = "signal", c.EXIT_OK
            break
        if reached is not None and now - reached >= args.linger:
            reason, code = "expect", c.EXIT_OK
            break
        if args.idle_exit is not None and idle_for >= args.idle_exit and reached is None:
            reason = "idle"
            if args.expect is not None:
                c.log("ERROR: idle for %.0fs with %d/%d messages", idle_for, got, args.expect)
                code = c.EXIT_FAIL
            else:
                code = c.EXIT_OK
            break
        if now - t0 >= args.timeout:
            reason = "timeout"
            if args.expect is not None and reached is None:
                c.log("ERROR: --timeout %.0fs reached with %d/%d messages consumed", args.timeout, got,
                      args.expect)
                code = c.EXIT_FAIL
            else:
                code = c.EXIT_OK
            break
        time.sleep(0.05)

    if state.internal_error and code == c.EXIT_OK:
        code = c.EXIT_FAIL

    # Shutdown unregisters the client from the broker; bound it separately from the run itself.
    done = threading.Event()

    def shutdown():
        try:
            consumer.shutdown()
        except Exception as e:
            c.log("warning: consumer shutdown failed: %s", e)
        done.set()

    threading.Thread(target=shutdown, daemon=True).start()
    if not done.wait(c.SHUTDOWN_GRACE):
        c.log("warning: consumer shutdown did not finish within %.0fs", c.SHUTDOWN_GRACE)
        c.emit({"event": "shutdown_timeout"})
    with state.lock:
        summary = {"event": "done", "reason": reason, "received": len(state.succeeded),
                   "deliveries": state.total, "exitCode": code}
    c.emit(summary)
    c.log("%s: reason=%s received=%d deliveries=%d", "ok" if code == 0 else "FAILED", reason,
          summary["received"], summary["deliveries"])
    c.hard_exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
