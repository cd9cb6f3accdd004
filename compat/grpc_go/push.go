package main

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

const pushDoc = `
PushConsumer driven through github.com/apache/rocketmq-clients/golang/v5 (Apache RocketMQ 5.x client,
gRPC); the options and output of compat/grpc_py/push_consumer.py.

    ferromq-compat-grpc-go push --endpoint 127.0.0.1:8081 --topic T --group G \
        [--tag-expr '*' | 'A||B'] [--sql EXPR] [--expect N] [--linger S] [--fail-first-times K] \
        [--threads 20] [--namespace NS] [--request-timeout 3] [--timeout 60] [--log-home DIR] [--verbose]

PushConsumer(listener): the client asks the server for its queue assignment (QueryAssignment, every 5 s),
long-polls each assigned queue (ReceiveMessage, auto_renew; batch size and long-polling time from the
server's Settings) and calls the MessageListener once per message. SUCCESS makes the client ack the
message; FAILURE makes it call ChangeInvisibleDuration with the backoff of the server's Settings, so the
message comes back with deliveryAttempt + 1. Whether the group is FIFO is decided by the server
(Settings.subscription.fifo): a FIFO consumer calls the listener for one queue's messages in order,
retries a failed message itself after the backoff (raising the MessageView's deliveryAttempt locally)
and forwards it to the dead-letter queue after max attempts.

--fail-first-times K  the listener answers FAILURE to the first K deliveries of every body.

stdout, one JSON line per listener call (absent fields were not set on the message):
  {"event":"message","body":...,"tag":...,"keys":[...],"props":{user properties},"topic":...,
   "queueId":N,"queueOffset":N,"messageId":...,"deliveryAttempt":N,"messageGroup":...,"delivery":n,
   "acked":true|false,"bornTimestamp":ms,"bornHost":...,"storeTimestamp":ms,"deliveryTimestamp":ms,
   "storeHost":...}
  acked is the listener's answer (true = SUCCESS; the client then acks); delivery is the 1-based count
  of deliveries of that body seen by this process.
other lines: {"event":"started",...,"fifo":bool}, {"event":"error",...}, {"event":"shutdown_timeout"},
  {"event":"done","reason":...,"received":N,"deliveries":N,"exitCode":N}.

Exit conditions:
  --expect N     exit 0 once N distinct bodies were answered SUCCESS (after --linger S more seconds);
                 exit 1 if --timeout comes first.
  --timeout S    end of the run: exit 0 unless --expect was set and not reached (default 60).
  SIGTERM/SIGINT clean shutdown, exit 0.
Start() waits (without a bound of its own) for the server's Settings on the Telemetry stream; the
driver bounds it by --timeout: exit 1.
Exit 2: bad usage or unreachable endpoint; 3: the watchdog fired.
`

func runPush(argv []string) {
	logName = "grpc-go-push-consumer"
	p := newParser("push", pushDoc)
	c := addCommon(p)
	topic := p.str("topic", "", true, "")
	group := p.str("group", "", true, "consumer group")
	tagExpr := p.str("tag-expr", "*", false, "TAG filter: '*' or 'A||B'")
	sql := p.strOpt("sql", "SQL92 filter instead of --tag-expr")
	expectV := p.int("expect", 0, "exit 0 after N distinct bodies consumed")
	linger := p.float("linger", 0, "keep consuming S seconds after --expect")
	failFirst := p.int("fail-first-times", 0, "answer FAILURE to the first K deliveries of every body")
	threads := p.int("threads", 20, "consumption threads (client default 20)")
	p.parse(argv)
	var expect *int
	if p.given("expect") {
		expect = expectV
		if *expect < 0 {
			p.error("--expect must be >= 0")
		}
	}
	if *failFirst < 0 {
		p.error("--fail-first-times must be >= 0")
	}
	if *threads < 1 {
		p.error("--threads must be >= 1")
	}
	expr := *tagExpr
	if p.given("sql") && *sql != "" {
		expr = *sql
	}

	startWatchdog(c.timeoutDur()+watchdogExtra, "push consumer")
	preflight(*c.endpoint)
	tp := setupClient(c)

	start := time.Now()
	stop := newStopper()
	installStopSignals(stop)
	state := newConsumerState()
	var internalError atomic.Value

	listener := &rmq.FuncMessageListener{Consume: func(mv *rmq.MessageView) (result rmq.ConsumerResult) {
		// Runs on a consumption goroutine; a panic would count as FAILURE, keep the driver's own apart.
		defer func() {
			if r := recover(); r != nil {
				msg := fmt.Sprint(r)
				internalError.Store(msg)
				logf("ERROR: listener failed: %s", msg)
				result = rmq.SUCCESS
			}
		}()
		body := string(mv.GetBody())
		sp := tp.receivedProps(mv.GetReceiptHandle())
		n := state.count(body)
		ok := n > *failFirst
		if ok {
			state.finish(body, expect)
		}
		emit(messageLine(mv, sp, n, ok))
		if ok {
			return rmq.SUCCESS
		}
		return rmq.FAILURE
	}}

	consumer, err := rmq.NewPushConsumer(config(c, *group),
		rmq.WithPushSubscriptionExpressions(map[string]*rmq.FilterExpression{
			*topic: filterExpression(*tagExpr, *sql, p.given("sql")),
		}),
		rmq.WithPushConsumptionThreadCount(int32(*threads)),
		rmq.WithPushMessageListener(listener))
	if err != nil {
		logf("ERROR: cannot create the push consumer: %v", err)
		emit(errorEvent("consumer creation failed: " + errorText(err)))
		os.Exit(exitFail)
	}
	consumer.SetRequestTimeout(time.Duration(*c.requestTimeout) * time.Second)
	runBounded(consumer.Start, start.Add(c.timeoutDur()), "consumer startup")
	fifo := tp.serverFifo()
	started := newEvent("started").put("client", clientName).put("pid", os.Getpid()).put("clientId", tp.getClientID()).
		put("endpoint", *c.endpoint).put("group", *group).put("topic", *topic).put("expr", expr)
	if fifo != nil {
		started.put("fifo", *fifo)
	} else {
		started.put("fifo", false) // Settings without subscription.fifo: the client's default
	}
	emit(started)
	expectText := "None"
	if expect != nil {
		expectText = fmt.Sprint(*expect)
	}
	logf("started: endpoint=%s group=%s topic=%s fifo=%v expect=%s", *c.endpoint, *group, *topic,
		started.vals["fifo"], expectText)

	reason, code := state.runLoop(start, c.timeoutDur(), expect, *linger, stop, "consumed")
	if v := internalError.Load(); v != nil && code == exitOK {
		emit(errorEvent(fmt.Sprintf("listener: %v", v)))
		code = exitFail
	}
	shutdownBounded(consumer.GracefulStop, "consumer")
	sum := state.summary(reason, code)
	emit(sum)
	verdict := "ok"
	if code != exitOK {
		verdict = "FAILED"
	}
	logf("%s: reason=%s received=%v deliveries=%v", verdict, reason, sum.vals["received"], sum.vals["deliveries"])
	os.Exit(code)
}
