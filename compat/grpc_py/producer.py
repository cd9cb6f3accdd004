#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Producer driven through PyPI rocketmq-python-client==5.1.2 (Apache RocketMQ 5.x client, gRPC).

    compat/.venv-grpc/bin/python compat/grpc_py/producer.py --endpoint 127.0.0.1:8081 --topic T \
        [--count 1] [--body-prefix msg] [--tag A[,B...]] [--keys 'key-{i}'[,...]] [--prop k=v ...] \
        [--kind normal|fifo|delay|transaction] [--message-group G] [--groups N] [--delay-ms MS] \
        [--tx-commit | --tx-rollback | --tx-unknown] [--check-answer commit|rollback] [--linger S] \
        [--namespace NS] [--request-timeout 3] [--timeout 60] [--log-home DIR] [--verbose]

Sends --count messages synchronously (Producer.send), one after the other.  Message i gets
  body <body-prefix>-<i> (default prefix "msg"), tag tags[i % len(tags)] (--tag A,B; none by default),
  keys from --keys (comma separated, "{i}" replaced by i), user properties from --prop k=v (repeatable,
  "{i}" replaced by i in the value).
--kind (default normal) picks the message type the client derives from the message:
  fifo         message group --message-group (default "group"); --groups N spreads message i over the
               groups <message-group>-<i % N>.
  delay        delivery timestamp now + --delay-ms (required).  The client puts the value in
               Timestamp.seconds, so it is rounded up to a whole second.
  transaction  Producer(checker=...), begin_transaction(), send(msg, transaction), then per flag
               transaction.commit() (--tx-commit, default), .rollback() (--tx-rollback), or nothing
               (--tx-unknown: the broker checks back; the TransactionChecker answers --check-answer,
               default commit, and prints {"event":"check",...}).  Use --linger S to stay up for checks.

stdout, one JSON line per sent message (fields the SendReceipt exposes):
  {"event":"sent","i":0,"body":"msg-0","messageId":"...","offset":N,"queueId":N,"broker":"...",
   "tag":...,"keys":[...],"messageGroup":...,"deliveryTimestamp":ms,"transactionId":...,
   "resolution":"commit"|"rollback"|"unknown","recallHandle":...}   (absent fields were not set)
  "offset" is SendReceipt.offset (0 when the server left it out); "clientMessageId" appears when the
  id the client generated differs from the receipt's.
then {"event":"done","sent":N,"elapsedMs":...}.  On failure {"event":"error","i":i,"error":"..."}, exit 1.
Other lines: {"event":"started",...}, {"event":"lingering","seconds":S}, {"event":"check",...}.
Exit 0 when every message was sent (and its transaction ended as asked), 1 on a failed send, 2 on bad
usage / unreachable endpoint / client not installed, 3 when the watchdog fired.  SIGTERM/SIGINT during
--linger: clean shutdown, exit 0.  The client's log goes to <--log-home or ~>/logs/rocketmq_python/.
"""
from __future__ import print_function

import argparse
import math
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
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--body-prefix", default="msg", help="message i gets body <prefix>-<i>")
    p.add_argument("--tag", default="", help="tag, or comma separated tags assigned round-robin")
    p.add_argument("--keys", default="", help="comma separated keys; {i} is replaced by the message index")
    p.add_argument("--prop", action="append", default=[], metavar="K=V",
                   help="user property (repeatable); {i} in V is replaced by the message index")
    p.add_argument("--kind", choices=("normal", "fifo", "delay", "transaction"), default="normal")
    p.add_argument("--message-group", default="group", help="fifo: the message group")
    p.add_argument("--groups", type=int, default=None, help="fifo: spread over N groups <message-group>-<i %% N>")
    p.add_argument("--delay-ms", type=int, default=None, help="delay: deliver this long after sending")
    tx = p.add_mutually_exclusive_group()
    tx.add_argument("--tx-commit", dest="tx", action="store_const", const="commit", help="default")
    tx.add_argument("--tx-rollback", dest="tx", action="store_const", const="rollback")
    tx.add_argument("--tx-unknown", dest="tx", action="store_const", const="unknown",
                    help="end no transaction: leave it to the broker's check-back")
    p.add_argument("--check-answer", choices=("commit", "rollback"), default="commit",
                   help="transaction: what the TransactionChecker answers a check-back")
    p.add_argument("--linger", type=float, default=0.0,
                   help="stay up S seconds after the sends (heartbeats, transaction check-backs)")
    args = p.parse_args(argv)
    if args.count < 0:
        p.error("--count must be >= 0")
    if args.kind != "fifo" and args.groups is not None:
        p.error("--groups needs --kind fifo")
    if args.groups is not None and args.groups < 1:
        p.error("--groups must be >= 1")
    if (args.kind == "delay") != (args.delay_ms is not None):
        p.error("--kind delay and --delay-ms go together")
    if args.delay_ms is not None and args.delay_ms < 0:
        p.error("--delay-ms must be >= 0")
    if args.tx is not None and args.kind != "transaction":
        p.error("--tx-* need --kind transaction")
    args.tx = args.tx or "commit"
    props = []
    for item in args.prop:
        k, sep, v = item.partition("=")
        if not sep or not k:
            p.error("--prop wants K=V, got %r" % item)
        props.append((k, v))
    args.props = props
    args.tags = [t for t in (s.strip() for s in args.tag.split(",")) if t]
    args.key_list = [k for k in (s.strip() for s in args.keys.split(",")) if k]
    return args


def build_message(rmq, args, i):
    msg = rmq.Message()
    msg.topic = args.topic
    body = "%s-%d" % (args.body_prefix, i)
    msg.body = body.encode("utf-8")
    line = {"event": "sent", "i": i, "body": body}
    if args.tags:
        msg.tag = line["tag"] = args.tags[i % len(args.tags)]
    keys = [k.replace("{i}", str(i)) for k in args.key_list]
    for k in keys:
        msg.keys = k  # the setter adds one key per assignment
    if keys:
        line["keys"] = keys
    for k, v in args.props:
        msg.add_property(k, v.replace("{i}", str(i)))
    if args.kind == "fifo":
        group = args.message_group if args.groups is None else "%s-%d" % (args.message_group, i % args.groups)
        msg.message_group = line["messageGroup"] = group
    elif args.kind == "delay":
        # Producer.__send_req writes delivery_timestamp into Timestamp.seconds (the docstring says ms).
        seconds = int(math.ceil((time.time() * 1000 + args.delay_ms) / 1000.0))
        msg.delivery_timestamp = seconds
        line["deliveryTimestamp"] = seconds * 1000
    return msg, line


def receipt_fields(receipt, msg):
    out = {"messageId": receipt.message_id, "offset": receipt.offset}
    if msg.message_id and msg.message_id != receipt.message_id:
        out["clientMessageId"] = msg.message_id
    mq = receipt.message_queue
    if mq is not None:
        pb = mq.message_queue0()
        out["queueId"] = pb.id
        out["broker"] = pb.broker.name
    if receipt.transaction_id:
        out["transactionId"] = receipt.transaction_id
    if receipt.recall_handle:
        out["recallHandle"] = receipt.recall_handle
    return out


def main(argv):
    d.set_name("grpc-producer")
    args = parse_args(argv)
    d.start_watchdog(args.timeout + d.WATCHDOG_EXTRA, "producer")
    d.preflight(args.endpoint)
    d.use_log_home(args.log_home)
    rmq = d.import_client(args.verbose)

    t0 = time.time()
    deadline = t0 + args.timeout
    stop = threading.Event()
    d.install_stop_signals(stop)

    checker = None
    if args.kind == "transaction":
        answer = (rmq.TransactionResolution.COMMIT if args.check_answer == "commit"
                  else rmq.TransactionResolution.ROLLBACK)

        class Checker(rmq.TransactionChecker):
            def check(self, message):
                d.emit({"event": "check", "body": d.text(message.body), "messageId": message.message_id,
                        "topic": message.topic, "answer": args.check_answer})
                return answer

        checker = Checker()

    producer = rmq.Producer(d.client_config(rmq, args), topics=[args.topic], checker=checker)
    # startup() queries the topic route (bounded by --request-timeout) but does not fail when that fails.
    d.startup_bounded(producer, deadline, "producer startup")
    d.emit({"event": "started", "client": d.CLIENT, "pid": os.getpid(), "clientId": producer.client_id,
            "endpoint": args.endpoint, "topic": args.topic, "kind": args.kind})
    d.log("started: endpoint=%s topic=%s kind=%s count=%d", args.endpoint, args.topic, args.kind, args.count)

    result = {"code": d.EXIT_OK, "sent": 0}

    def send_all():
        for i in range(args.count):
            if stop.is_set():
                result["code"] = d.EXIT_FAIL
                d.emit({"event": "error", "i": i, "error": "stopped by a signal"})
                return
            try:
                msg, line = build_message(rmq, args, i)
                if args.kind == "transaction":
                    tx = producer.begin_transaction()
                    receipt = producer.send(msg, tx)
                    if args.tx == "commit":
                        tx.commit()
                    elif args.tx == "rollback":
                        tx.rollback()
                    line["resolution"] = args.tx
                else:
                    receipt = producer.send(msg)
            except Exception as e:
                d.log("ERROR: send of message %d failed: %s", i, d.error_text(e))
                d.emit({"event": "error", "i": i, "error": d.error_text(e)})
                result["code"] = d.EXIT_FAIL
                return
            line.update(receipt_fields(receipt, msg))
            d.emit(line)
            result["sent"] += 1

    # Each send is bounded by the client (--request-timeout per attempt, up to 3 attempts); the
    # worker thread keeps --timeout exact whatever the client does.
    worker = threading.Thread(target=send_all, name="send", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.time()))
    if worker.is_alive():
        d.log("ERROR: --timeout %.0fs reached while a send was still running (%d/%d sent)", args.timeout,
              result["sent"], args.count)
        d.emit({"event": "error", "error": "timeout: send blocked after %d/%d" % (result["sent"], args.count)})
        d.emit({"event": "done", "sent": result["sent"], "elapsedMs": int((time.time() - t0) * 1000)})
        d.hard_exit(d.EXIT_FAIL)

    if result["code"] == d.EXIT_OK and args.linger > 0:
        d.emit({"event": "lingering", "seconds": args.linger})
        stop.wait(max(0.0, min(args.linger, deadline - time.time())))

    d.shutdown_bounded(producer, "producer")
    elapsed = int((time.time() - t0) * 1000)
    d.emit({"event": "done", "sent": result["sent"], "elapsedMs": elapsed})
    d.log("%s: sent %d/%d in %d ms", "ok" if result["code"] == 0 else "FAILED", result["sent"], args.count, elapsed)
    d.hard_exit(result["code"])


if __name__ == "__main__":
    main(sys.argv[1:])
