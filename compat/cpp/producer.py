#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Producer driven through PyPI rocketmq==0.4.4 (Apache rocketmq-client-cpp, remoting protocol).

    compat/.venv/bin/python compat/cpp/producer.py --namesrv 127.0.0.1:9876 --topic T --group G \
        --count 40 [--tags TagA,TagB] [--keys-prefix key-] [--body-prefix msg-] \
        [--order-key-count K] [--instance NAME] [--send-timeout-ms 3000] [--timeout 60] [--log-home DIR]

Sends --count messages synchronously, one after the other.  Message i gets
  tags = tags[i % len(tags)] (no tag when --tags is absent), keys = <keys-prefix><i> (no keys when absent),
  body = <body-prefix><i> (default prefix "msg-").
With --order-key-count K the message is sent with SendMessageOrderly and a queue selector that picks
queue (i % K) % queueCount, i.e. the "sharding key" k<i % K> always maps to one queue.

stdout, one JSON line per sent message:
  {"event":"sent","i":0,"msgId":"...","queueId":null|N,"queueOffset":N,"status":"OK","tags":...,
   "keys":...,"body":"...","orderKey":null|"k0"}
  queueId is only known for orderly sends (the C API's send result has no queue id).
then {"event":"done","sent":N,"elapsedMs":...}.  Exit 0 when every message was sent with status OK.
"""
from __future__ import print_function

import argparse
import ctypes
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep compat/cpp free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _compat as c  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--namesrv", required=True, help="name server HOST:PORT")
    p.add_argument("--topic", required=True)
    p.add_argument("--group", required=True, help="producer group")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--tags", default="", help="comma separated tags, assigned round-robin")
    p.add_argument("--keys-prefix", default=None, help="message i gets key <prefix><i>")
    p.add_argument("--body-prefix", default="msg-", help="message i gets body <prefix><i>")
    p.add_argument("--order-key-count", type=int, default=0,
                   help="send orderly: sharding key k<i %% K> selects the queue")
    p.add_argument("--instance", default=None, help="client instance name")
    p.add_argument("--send-timeout-ms", type=int, default=None, help="per-send timeout (client default 3000)")
    p.add_argument("--timeout", type=c.positive_float, default=60.0, help="bound on the whole run, seconds")
    p.add_argument("--access-key", default=None, help="sign requests as this user (set_session_credentials)")
    p.add_argument("--secret-key", default="", help="the user's secret key")
    p.add_argument("--log-home", default=None,
                   help="directory used as $HOME by the C++ client (logs go to DIR/logs/rocketmq-cpp/)")
    args = p.parse_args(argv)
    if args.count < 0:
        p.error("--count must be >= 0")
    if args.order_key_count < 0:
        p.error("--order-key-count must be >= 0")
    return args


def main(argv):
    c.set_name("cpp-producer")
    args = parse_args(argv)
    c.start_watchdog(args.timeout + c.WATCHDOG_EXTRA, "producer")
    c.preflight(args.namesrv)
    c.use_log_home(args.log_home)
    client, ffi, exceptions = c.import_rocketmq()

    tags = c.split_csv(args.tags)
    deadline = time.time() + args.timeout
    t0 = time.time()

    producer = client.Producer(args.group, timeout=args.send_timeout_ms)
    producer.set_namesrv_addr(args.namesrv)
    if args.access_key:
        producer.set_session_credentials(args.access_key, args.secret_key, "ALIYUN")
    if args.instance:
        exceptions.ffi_check(ffi.dll.SetProducerInstanceName(producer._handle, args.instance.encode("utf-8")))
    c.run_bounded(producer.start, deadline, "producer start")
    c.log("started: group=%s namesrv=%s topic=%s count=%d orderKeys=%d", args.group, args.namesrv,
          args.topic, args.count, args.order_key_count)

    # The orderly queue selector records the queue it picked so that we can report the queue id.
    selected = threading.local()

    def order_selector(mq_size, _msg, arg):
        arg_int = ctypes.cast(arg, ctypes.POINTER(ctypes.c_int))[0]
        q = arg_int % mq_size
        selected.queue = q
        selected.size = mq_size
        return q

    result = {"code": c.EXIT_OK, "sent": 0}

    def send_all():
        for i in range(args.count):
            if time.time() > deadline:
                c.log("ERROR: --timeout %.0fs reached after %d/%d messages", args.timeout, result["sent"],
                      args.count)
                result["code"] = c.EXIT_FAIL
                return
            tag = tags[i % len(tags)] if tags else None
            key = "%s%d" % (args.keys_prefix, i) if args.keys_prefix is not None else None
            body = "%s%d" % (args.body_prefix, i)
            order_key = None
            msg = client.Message(args.topic)
            if tag:
                msg.set_tags(tag)
            if key:
                msg.set_keys(key)
            msg.set_body(body)
            queue_id = None
            try:
                if args.order_key_count > 0:
                    shard = i % args.order_key_count
                    order_key = "k%d" % shard
                    selected.queue = None
                    res = producer.send_orderly(msg, shard, queue_selector=order_selector)
                    queue_id = getattr(selected, "queue", None)
                else:
                    res = producer.send_sync(msg)
            except Exception as e:
                c.log("ERROR: send of message %d failed: %s: %s", i, type(e).__name__, e)
                c.emit({"event": "error", "i": i, "error": "%s: %s" % (type(e).__name__, e)})
                result["code"] = c.EXIT_FAIL
                return
            status = res.status.name if hasattr(res.status, "name") else str(res.status)
            c.emit({
                "event": "sent", "i": i, "msgId": res.msg_id, "queueId": queue_id, "queueOffset": res.offset,
                "status": status, "tags": tag, "keys": key, "body": body, "orderKey": order_key,
            })
            if status != "OK":
                c.log("ERROR: message %d sent with status %s", i, status)
                result["code"] = c.EXIT_FAIL
                return
            result["sent"] += 1

    # The C++ client can block far longer than its send timeout (e.g. a name server that accepts
    # connections but never answers), so the sends run on a worker thread and --timeout is enforced here.
    worker = threading.Thread(target=send_all, name="send", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.time()))
    if worker.is_alive():
        c.log("ERROR: --timeout %.0fs reached while a send was still blocked (%d/%d sent)", args.timeout,
              result["sent"], args.count)
        c.emit({"event": "error", "error": "timeout: send blocked after %d/%d" % (result["sent"], args.count)})
        c.emit({"event": "done", "sent": result["sent"], "elapsedMs": int((time.time() - t0) * 1000)})
        c.hard_exit(c.EXIT_FAIL)
    code, sent = result["code"], result["sent"]

    def shutdown():
        try:
            producer.shutdown()
        except Exception as e:
            c.log("warning: producer shutdown failed: %s", e)

    closer = threading.Thread(target=shutdown, name="shutdown", daemon=True)
    closer.start()
    closer.join(c.SHUTDOWN_GRACE)
    if closer.is_alive():
        c.log("warning: producer shutdown did not finish within %.0fs", c.SHUTDOWN_GRACE)
    elapsed = int((time.time() - t0) * 1000)
    c.emit({"event": "done", "sent": sent, "elapsedMs": elapsed})
    c.log("%s: sent %d/%d in %d ms", "ok" if code == 0 else "FAILED", sent, args.count, elapsed)
    c.hard_exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
