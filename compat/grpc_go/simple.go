package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
)

const simpleDoc = `
SimpleConsumer driven through github.com/apache/rocketmq-clients/golang/v5 (Apache RocketMQ 5.x client,
gRPC); the options and output of compat/grpc_py/simple_consumer.py.

    ferromq-compat-grpc-go simple --endpoint 127.0.0.1:8081 --topic T --group G \
        [--tag-expr '*' | 'A||B'] [--sql EXPR] [--expect N] [--linger S] [--batch 16] \
        [--invisible-s 15] [--await-s 5] [--no-ack-first K] [--change-invisible-s S] [--max-errors 3] \
        [--namespace NS] [--request-timeout 3] [--timeout 60] [--log-home DIR] [--verbose]

Receive loop: SimpleConsumer.Receive(--batch, --invisible-s) (WithSimpleAwaitDuration(--await-s)),
then for each message, in order:
  --change-invisible-s S  on the first delivery of a body, ChangeInvisibleDuration(msg, S) (the client
                          replaces the message's receipt handle with the new one);
  --no-ack-first K        the first K deliveries of every body are not acknowledged, so they come back
                          after the invisible duration; later deliveries are acknowledged (Ack(msg)).
With both, a body's first delivery gets its invisible duration changed to S and comes back after S.
A receive answered MESSAGE_NOT_FOUND is an empty result (the Go client returns it as an error).

stdout, one JSON line per delivery (absent fields were not set on the message):
  {"event":"message","body":...,"tag":...,"keys":[...],"props":{user properties},"topic":...,
   "queueId":N,"queueOffset":N,"messageId":...,"deliveryAttempt":N,"messageGroup":...,"delivery":n,
   "acked":true|false,"invisibleChanged":true,"ackError":"...","bornTimestamp":ms,"bornHost":...,
   "storeTimestamp":ms,"deliveryTimestamp":ms,"storeHost":...}
  delivery is the 1-based count of deliveries of that body seen by this process; acked says whether it
  was acknowledged successfully (the client's Ack returns no error when the server answers a non-OK
  status: the driver reads the answer itself and reports it as ackError).  queueId, queueOffset,
  storeTimestamp and storeHost come from the received protobuf (MessageView does not expose them).
other lines: {"event":"started",...}, {"event":"receive_error","error":...} (retried after 1 s),
  {"event":"error",...}, {"event":"done","reason":...,"received":N,"deliveries":N,"exitCode":N},
  {"event":"shutdown_timeout"}.

Exit conditions:
  --expect N      exit 0 once N distinct bodies were acknowledged (after --linger S more seconds, to catch
                  duplicates or extra messages); exit 1 if --timeout comes first.
  --timeout S     end of the run: exit 0 unless --expect was set and not reached (default 60).
  --max-errors K  exit 1 after K receive calls in a row failed (default 3).
  SIGTERM/SIGINT  clean shutdown (NotifyClientTermination), exit 0.
Exit 2: bad usage or unreachable endpoint; 3: the watchdog fired.
`

type consumerState struct {
	mu         sync.Mutex
	deliveries map[string]int // body -> deliveries seen
	done       map[string]bool
	total      int
	reachedAt  *time.Time
	fatal      string
}

func newConsumerState() *consumerState {
	return &consumerState{deliveries: map[string]int{}, done: map[string]bool{}}
}

// count records one more delivery of body and returns its 1-based number.
func (s *consumerState) count(body string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries[body]++
	s.total++
	return s.deliveries[body]
}

// finish records body as acknowledged (simple) or answered SUCCESS (push).
func (s *consumerState) finish(body string, expect *int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done[body] = true
	if expect != nil && s.reachedAt == nil && len(s.done) >= *expect {
		now := time.Now()
		s.reachedAt = &now
	}
}

func (s *consumerState) setFatal(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fatal == "" {
		s.fatal = msg
	}
}

// runLoop is the Python drivers' main loop (50 ms ticks): it returns the reason and exit code.
func (s *consumerState) runLoop(start time.Time, timeout time.Duration, expect *int, linger float64,
	stop *stopper, what string) (string, int) {
	lingerDur := time.Duration(linger * float64(time.Second))
	for {
		now := time.Now()
		s.mu.Lock()
		got, reached, fatal := len(s.done), s.reachedAt, s.fatal
		s.mu.Unlock()
		if fatal != "" {
			logf("ERROR: %s", fatal)
			emit(errorEvent(fatal))
			return "error", exitFail
		}
		if stop.isSet() {
			return "signal", exitOK
		}
		if reached != nil && now.Sub(*reached) >= lingerDur {
			return "expect", exitOK
		}
		if now.Sub(start) >= timeout {
			if expect != nil && reached == nil {
				logf("ERROR: --timeout %.0fs reached with %d/%d bodies %s", timeout.Seconds(), got, *expect, what)
				return "timeout", exitFail
			}
			return "timeout", exitOK
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *consumerState) summary(reason string, code int) *event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return newEvent("done").put("reason", reason).put("received", len(s.done)).put("deliveries", s.total).
		put("exitCode", code)
}

func filterExpression(tagExpr, sql string, sqlGiven bool) *rmq.FilterExpression {
	if sqlGiven && sql != "" {
		return rmq.NewFilterExpressionWithType(sql, rmq.SQL92)
	}
	return rmq.NewFilterExpressionWithType(tagExpr, rmq.TAG)
}

func isMessageNotFound(err error) bool {
	e, ok := rmq.AsErrRpcStatus(err)
	return ok && e.GetCode() == int32(v2.Code_MESSAGE_NOT_FOUND)
}

func runSimple(argv []string) {
	logName = "grpc-go-simple-consumer"
	p := newParser("simple", simpleDoc)
	c := addCommon(p)
	topic := p.str("topic", "", true, "")
	group := p.str("group", "", true, "consumer group")
	tagExpr := p.str("tag-expr", "*", false, "TAG filter: '*' or 'A||B'")
	sql := p.strOpt("sql", "SQL92 filter instead of --tag-expr")
	expectV := p.int("expect", 0, "exit 0 after N distinct bodies acknowledged")
	linger := p.float("linger", 0, "keep consuming S seconds after --expect")
	batch := p.int("batch", 16, "max messages per receive")
	invisibleS := p.int("invisible-s", 15, "invisible duration of received messages, s")
	awaitS := p.int("await-s", 5, "long-polling time of a receive, s")
	noAckFirst := p.int("no-ack-first", 0, "do not ack the first K deliveries of a body")
	changeInvisibleV := p.int("change-invisible-s", 0, "ChangeInvisibleDuration(S) on the first delivery of a body")
	maxErrors := p.int("max-errors", 3, "exit 1 after K failed receives in a row")
	p.parse(argv)
	var expect, changeInvisible *int
	if p.given("expect") {
		expect = expectV
		if *expect < 0 {
			p.error("--expect must be >= 0")
		}
	}
	if *batch < 1 || *invisibleS < 1 || *awaitS < 1 || *maxErrors < 1 {
		p.error("--batch, --invisible-s, --await-s and --max-errors must be >= 1")
	}
	if *noAckFirst < 0 {
		p.error("--no-ack-first must be >= 0")
	}
	if p.given("change-invisible-s") {
		changeInvisible = changeInvisibleV
		if *changeInvisible < 1 {
			p.error("--change-invisible-s must be >= 1")
		}
	}
	expr := *tagExpr
	if p.given("sql") && *sql != "" {
		expr = *sql
	}

	startWatchdog(c.timeoutDur()+watchdogExtra, "simple consumer")
	preflight(*c.endpoint)
	tp := setupClient(c)

	start := time.Now()
	stop := newStopper()
	installStopSignals(stop)
	state := newConsumerState()

	consumer, err := rmq.NewSimpleConsumer(config(c, *group),
		rmq.WithSimpleAwaitDuration(time.Duration(*awaitS)*time.Second),
		rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{
			*topic: filterExpression(*tagExpr, *sql, p.given("sql")),
		}))
	if err != nil {
		logf("ERROR: cannot create the simple consumer: %v", err)
		emit(errorEvent("consumer creation failed: " + errorText(err)))
		os.Exit(exitFail)
	}
	consumer.SetRequestTimeout(time.Duration(*c.requestTimeout) * time.Second)
	// Start() queries the route of --topic (failing when that fails) and then waits, without a
	// bound of its own, for the server's Settings on the Telemetry stream.
	runBounded(consumer.Start, start.Add(c.timeoutDur()), "consumer startup")
	emit(newEvent("started").put("client", clientName).put("pid", os.Getpid()).put("clientId", tp.getClientID()).
		put("endpoint", *c.endpoint).put("group", *group).put("topic", *topic).put("expr", expr))
	expectText := "None"
	if expect != nil {
		expectText = fmt.Sprint(*expect)
	}
	logf("started: endpoint=%s group=%s topic=%s expect=%s", *c.endpoint, *group, *topic, expectText)

	handle := func(mv *rmq.MessageView) {
		body := string(mv.GetBody())
		sp := tp.receivedProps(mv.GetReceiptHandle())
		n := state.count(body)
		extra := newEvent("")
		if changeInvisible != nil && n == 1 {
			if err := consumer.ChangeInvisibleDuration(mv, time.Duration(*changeInvisible)*time.Second); err != nil {
				extra.put("invisibleChanged", false).put("changeInvisibleError", errorText(err))
			} else {
				extra.put("invisibleChanged", true)
			}
		}
		acked := false
		if n > *noAckFirst {
			handleNow := mv.GetReceiptHandle()
			err := consumer.Ack(context.Background(), mv)
			if st := tp.takeAckStatus(handleNow); err == nil && st != nil {
				err = fmt.Errorf("CODE: %s, MESSAGE: %s (the client's Ack returned no error)",
					st.GetCode().String(), st.GetMessage())
			}
			if err != nil {
				extra.put("ackError", errorText(err))
			} else {
				acked = true
			}
		}
		if acked {
			state.finish(body, expect)
		}
		line := messageLine(mv, sp, n, acked)
		for _, k := range extra.keys[1:] {
			line.put(k, extra.vals[k])
		}
		emit(line)
	}

	// FERROMQ_COMPAT_TRACE=1: one stderr line per receive call (count, duration, error).
	trace := os.Getenv("FERROMQ_COMPAT_TRACE") != ""
	go func() {
		failures := 0
		warned := false
		for !stop.isSet() {
			t := time.Now()
			messages, err := consumer.Receive(context.Background(), int32(*batch), time.Duration(*invisibleS)*time.Second)
			if trace {
				logf("trace: receive -> %d messages in %d ms, err=%v", len(messages), time.Since(t).Milliseconds(), err)
			}
			if err != nil && isMessageNotFound(err) {
				// The Go client turns the server's "no message" answer into an error.
				failures = 0
				if took := time.Since(t); took < 100*time.Millisecond {
					// A long poll should have held the request for up to --await-s. The Go
					// SimpleConsumer puts the await duration only in its Settings, not in
					// ReceiveMessageRequest.long_polling_timeout: a server that does not long-poll
					// such a request answers at once, and the client would spin. Say so, and pace
					// the loop (it only spaces empty receives).
					if !warned {
						warned = true
						logf("warning: ReceiveMessage answered MESSAGE_NOT_FOUND after %d ms although --await-s is %d: "+
							"the server did not long-poll (the Go SimpleConsumer sends no long_polling_timeout; "+
							"its request deadline is await + request timeout); empty receives are paced at 100 ms",
							took.Milliseconds(), *awaitS)
					}
					stop.wait(100*time.Millisecond - took)
				}
				continue
			}
			if err != nil {
				if stop.isSet() {
					return
				}
				failures++
				logf("receive failed (%d in a row): %s", failures, errorText(err))
				emit(newEvent("receive_error").put("error", errorText(err)))
				if failures >= *maxErrors {
					state.setFatal(fmt.Sprintf("%d receives in a row failed, last: %s", failures, errorText(err)))
					return
				}
				stop.wait(time.Second)
				continue
			}
			failures = 0
			for _, mv := range messages {
				handle(mv)
			}
		}
	}()

	reason, code := state.runLoop(start, c.timeoutDur(), expect, *linger, stop, "acknowledged")
	stop.stop()
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
