package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
)

const produceDoc = `
Producer driven through github.com/apache/rocketmq-clients/golang/v5 (Apache RocketMQ 5.x client, gRPC);
the options and output of compat/grpc_py/producer.py.

    ferromq-compat-grpc-go produce --endpoint 127.0.0.1:8081 --topic T \
        [--count 1] [--body-prefix msg] [--tag A[,B...]] [--keys 'key-{i}'[,...]] [--prop k=v ...] \
        [--kind normal|fifo|delay|transaction] [--message-group G] [--groups N] [--delay-ms MS] \
        [--tx-commit | --tx-rollback | --tx-unknown] [--check-answer commit|rollback] [--linger S] \
        [--namespace NS] [--request-timeout 3] [--timeout 60] [--log-home DIR] [--verbose]

Sends --count messages synchronously (Producer.Send), one after the other.  Message i gets
  body <body-prefix>-<i> (default prefix "msg"), tag tags[i % len(tags)] (--tag A,B; none by default),
  keys from --keys (comma separated, "{i}" replaced by i), user properties from --prop k=v (repeatable,
  "{i}" replaced by i in the value).
--kind (default normal) picks the message type the client derives from the message:
  fifo         message group --message-group (default "group"); --groups N spreads message i over the
               groups <message-group>-<i % N>.
  delay        delivery timestamp now + --delay-ms (required), to the millisecond (the Go client sends
               the time as it is; the Python client rounds it up to a whole second).
  transaction  WithTransactionChecker(...), BeginTransaction(), SendWithTransaction(msg, tx), then per
               flag tx.Commit() (--tx-commit, default), tx.RollBack() (--tx-rollback), or nothing
               (--tx-unknown: the broker checks back; the TransactionChecker answers --check-answer,
               default commit, and prints {"event":"check",...}).  Use --linger S to stay up for checks.

stdout, one JSON line per sent message (fields the SendReceipt exposes):
  {"event":"sent","i":0,"body":"msg-0","messageId":"...","offset":N,"endpoints":"host:port",
   "tag":...,"keys":[...],"messageGroup":...,"deliveryTimestamp":ms,"transactionId":...,
   "resolution":"commit"|"rollback"|"unknown","recallHandle":...}   (absent fields were not set)
  "offset" is SendReceipt.Offset (0 when the server left it out); "clientMessageId" appears when the
  id the client generated differs from the receipt's.  The Go SendReceipt has no message queue, so
  there is no "queueId" or "broker"; "endpoints" is the broker address the message went to.
then {"event":"done","sent":N,"elapsedMs":...}.  On failure {"event":"error","i":i,"error":"..."}, exit 1.
Other lines: {"event":"started",...}, {"event":"lingering","seconds":S}, {"event":"check",...}.
Exit 0 when every message was sent (and its transaction ended as asked), 1 on a failed send, 2 on bad
usage / unreachable endpoint, 3 when the watchdog fired.  SIGTERM/SIGINT during --linger: clean
shutdown, exit 0.  The client's log goes to <--log-home or ~>/logs/rocketmq/rocketmq_client_go.log.
`

type produceArgs struct {
	c            *common
	topic        string
	count        int
	bodyPrefix   string
	tags         []string
	keyList      []string
	props        [][2]string
	kind         string
	messageGroup string
	groups       *int
	delayMs      *int
	tx           string
	checkAnswer  string
	linger       float64
}

func parseProduceArgs(argv []string) *produceArgs {
	p := newParser("produce", produceDoc)
	c := addCommon(p)
	topic := p.str("topic", "", true, "")
	count := p.int("count", 1, "")
	bodyPrefix := p.str("body-prefix", "msg", false, "message i gets body <prefix>-<i>")
	tag := p.str("tag", "", false, "tag, or comma separated tags assigned round-robin")
	keys := p.str("keys", "", false, "comma separated keys; {i} is replaced by the message index")
	props := p.appendOpt("prop", "K=V", "user property (repeatable); {i} in V is replaced by the message index")
	kind := p.choice("kind", "normal", []string{"normal", "fifo", "delay", "transaction"}, "")
	messageGroup := p.str("message-group", "group", false, "fifo: the message group")
	groups := p.int("groups", 0, "fifo: spread over N groups <message-group>-<i % N>")
	delayMs := p.int("delay-ms", 0, "delay: deliver this long after sending")
	g := &exclusive{}
	tx := ""
	p.constFlag(g, "tx-commit", "commit", &tx, "default")
	p.constFlag(g, "tx-rollback", "rollback", &tx, "")
	p.constFlag(g, "tx-unknown", "unknown", &tx, "end no transaction: leave it to the broker's check-back")
	checkAnswer := p.choice("check-answer", "commit", []string{"commit", "rollback"},
		"transaction: what the TransactionChecker answers a check-back")
	linger := p.float("linger", 0, "stay up S seconds after the sends (heartbeats, transaction check-backs)")
	p.parse(argv)

	a := &produceArgs{c: c, topic: *topic, count: *count, bodyPrefix: *bodyPrefix, kind: *kind,
		messageGroup: *messageGroup, checkAnswer: *checkAnswer, linger: *linger}
	if p.given("groups") {
		a.groups = groups
	}
	if p.given("delay-ms") {
		a.delayMs = delayMs
	}
	if a.count < 0 {
		p.error("--count must be >= 0")
	}
	if a.kind != "fifo" && a.groups != nil {
		p.error("--groups needs --kind fifo")
	}
	if a.groups != nil && *a.groups < 1 {
		p.error("--groups must be >= 1")
	}
	if (a.kind == "delay") != (a.delayMs != nil) {
		p.error("--kind delay and --delay-ms go together")
	}
	if a.delayMs != nil && *a.delayMs < 0 {
		p.error("--delay-ms must be >= 0")
	}
	if tx != "" && a.kind != "transaction" {
		p.error("--tx-* need --kind transaction")
	}
	if tx == "" {
		tx = "commit"
	}
	a.tx = tx
	for _, item := range *props {
		k, v, ok := strings.Cut(item, "=")
		if !ok || k == "" {
			p.error("--prop wants K=V, got '%s'", item)
		}
		a.props = append(a.props, [2]string{k, v})
	}
	a.tags = splitCSV(*tag)
	a.keyList = splitCSV(*keys)
	return a
}

func splitCSV(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func buildMessage(a *produceArgs, i int) (*rmq.Message, *event) {
	is := strconv.Itoa(i)
	body := fmt.Sprintf("%s-%d", a.bodyPrefix, i)
	msg := &rmq.Message{Topic: a.topic, Body: []byte(body)}
	line := newEvent("sent").put("i", i).put("body", body)
	if len(a.tags) > 0 {
		t := a.tags[i%len(a.tags)]
		msg.SetTag(t)
		line.put("tag", t)
	}
	var keys []string
	for _, k := range a.keyList {
		keys = append(keys, strings.ReplaceAll(k, "{i}", is))
	}
	if len(keys) > 0 {
		msg.SetKeys(keys...)
		line.put("keys", keys)
	}
	for _, kv := range a.props {
		msg.AddProperty(kv[0], strings.ReplaceAll(kv[1], "{i}", is))
	}
	switch a.kind {
	case "fifo":
		group := a.messageGroup
		if a.groups != nil {
			group = fmt.Sprintf("%s-%d", a.messageGroup, i%*a.groups)
		}
		msg.SetMessageGroup(group)
		line.put("messageGroup", group)
	case "delay":
		at := time.Now().Add(time.Duration(*a.delayMs) * time.Millisecond)
		at = time.UnixMilli(at.UnixMilli()) // the line and the message carry the same millisecond
		msg.SetDelayTimestamp(at)
		line.put("deliveryTimestamp", at.UnixMilli())
	}
	return msg, line
}

func endpointsText(ep *v2.Endpoints) string {
	var parts []string
	for _, a := range ep.GetAddresses() {
		parts = append(parts, fmt.Sprintf("%s:%d", a.GetHost(), a.GetPort()))
	}
	return strings.Join(parts, ";")
}

func receiptFields(line *event, r *rmq.SendReceipt, clientIDs []string) {
	line.put("messageId", r.MessageID).put("offset", r.Offset)
	if len(clientIDs) > 0 && clientIDs[0] != "" && clientIDs[0] != r.MessageID {
		line.put("clientMessageId", clientIDs[0])
	}
	if r.Endpoints != nil {
		line.put("endpoints", endpointsText(r.Endpoints))
	}
	if r.TransactionId != "" {
		line.put("transactionId", r.TransactionId)
	}
	if r.RecallHandle != "" {
		line.put("recallHandle", r.RecallHandle)
	}
}

func runProduce(argv []string) {
	logName = "grpc-go-producer"
	a := parseProduceArgs(argv)
	c := a.c
	startWatchdog(c.timeoutDur()+watchdogExtra, "producer")
	preflight(*c.endpoint)
	tp := setupClient(c)

	start := time.Now()
	deadline := start.Add(c.timeoutDur())
	stop := newStopper()
	installStopSignals(stop)

	opts := []rmq.ProducerOption{rmq.WithTopics(a.topic)}
	if a.kind == "transaction" {
		answer := rmq.COMMIT
		if a.checkAnswer == "rollback" {
			answer = rmq.ROLLBACK
		}
		opts = append(opts, rmq.WithTransactionChecker(&rmq.TransactionChecker{
			Check: func(mv *rmq.MessageView) rmq.TransactionResolution {
				emit(newEvent("check").put("body", string(mv.GetBody())).put("messageId", mv.GetMessageId()).
					put("topic", mv.GetTopic()).put("answer", a.checkAnswer))
				return answer
			},
		}))
	}
	producer, err := rmq.NewProducer(config(c, ""), opts...)
	if err != nil {
		logf("ERROR: cannot create the producer: %v", err)
		emit(errorEvent("producer creation failed: " + errorText(err)))
		os.Exit(exitFail)
	}
	producer.SetRequestTimeout(time.Duration(*c.requestTimeout) * time.Second)
	// Start() queries the route of --topic (failing when that fails) and then waits, without a
	// bound of its own, for the server's Settings on the Telemetry stream.
	runBounded(producer.Start, deadline, "producer startup")
	emit(newEvent("started").put("client", clientName).put("pid", os.Getpid()).put("clientId", tp.getClientID()).
		put("endpoint", *c.endpoint).put("topic", a.topic).put("kind", a.kind))
	logf("started: endpoint=%s topic=%s kind=%s count=%d", *c.endpoint, a.topic, a.kind, a.count)

	var mu sync.Mutex
	code, sent := exitOK, 0
	finished := make(chan struct{})
	fail := func(i int, err error) {
		logf("ERROR: send of message %d failed: %s", i, errorText(err))
		emit(newEvent("error").put("i", i).put("error", errorText(err)))
		mu.Lock()
		code = exitFail
		mu.Unlock()
	}
	go func() {
		defer close(finished)
		ctx := context.Background()
		for i := 0; i < a.count; i++ {
			if stop.isSet() {
				mu.Lock()
				code = exitFail
				mu.Unlock()
				emit(newEvent("error").put("i", i).put("error", "stopped by a signal"))
				return
			}
			msg, line := buildMessage(a, i)
			var receipts []*rmq.SendReceipt
			var err error
			if a.kind == "transaction" {
				tx := producer.BeginTransaction()
				receipts, err = producer.SendWithTransaction(ctx, msg, tx)
				if err == nil {
					switch a.tx {
					case "commit":
						err = tx.Commit()
					case "rollback":
						err = tx.RollBack()
					}
				}
				line.put("resolution", a.tx)
			} else {
				receipts, err = producer.Send(ctx, msg)
			}
			if err == nil && len(receipts) == 0 {
				err = fmt.Errorf("the send returned no receipt")
			}
			if err != nil {
				fail(i, err)
				return
			}
			receiptFields(line, receipts[0], tp.lastSentIDs())
			emit(line)
			mu.Lock()
			sent++
			mu.Unlock()
		}
	}()

	// Each send is bounded by the client (--request-timeout per attempt, up to the attempts the
	// server's Settings allow); waiting here keeps --timeout exact whatever the client does.
	t := time.NewTimer(time.Until(deadline))
	select {
	case <-finished:
		t.Stop()
	case <-t.C:
		mu.Lock()
		n := sent
		mu.Unlock()
		logf("ERROR: --timeout %.0fs reached while a send was still running (%d/%d sent)", *c.timeout, n, a.count)
		emit(errorEvent(fmt.Sprintf("timeout: send blocked after %d/%d", n, a.count)))
		emit(newEvent("done").put("sent", n).put("elapsedMs", elapsedMs(start)))
		os.Exit(exitFail)
	}

	mu.Lock()
	rc, n := code, sent
	mu.Unlock()
	if rc == exitOK && a.linger > 0 {
		emit(newEvent("lingering").put("seconds", a.linger))
		d := time.Duration(a.linger * float64(time.Second))
		if left := time.Until(deadline); left < d {
			d = left
		}
		stop.wait(d)
	}

	shutdownBounded(producer.GracefulStop, "producer")
	el := elapsedMs(start)
	emit(newEvent("done").put("sent", n).put("elapsedMs", el))
	state := "ok"
	if rc != exitOK {
		state = "FAILED"
	}
	logf("%s: sent %d/%d in %d ms", state, n, a.count, el)
	os.Exit(rc)
}
