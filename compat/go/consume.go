package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// consumeState records deliveries (shared by the client's consuming goroutines).
type consumeState struct {
	mu              sync.Mutex
	deliveries      map[string]int
	succeeded       map[string]bool
	total           int
	lastDelivery    time.Time
	expectReachedAt time.Time
}

// consume: --topic T --group G [--expr '*'|'A||B'] [--sql "a > 5"] [--orderly] [--broadcast]
// [--from first|last|timestamp:yyyyMMddHHmmss] [--expect N] [--linger S] [--idle-exit S]
// [--fail-first-times K] [--max-reconsume N] [--redelivery-delay-ms MS] [--instance NAME]
// [--access-key AK --secret-key SK].
// One `message` line per delivery (as compat/cpp/consumer.py), then `done`.
func consume(namesrv string, timeout time.Duration, a args) (int, error) {
	topic := a.req("topic")
	group := a.req("group")
	expr := a.str("expr", "*")
	sql := a.str("sql", "")
	orderly := a.flag("orderly")
	broadcast := a.flag("broadcast")
	from := a.str("from", "last")
	expect := a.int("expect", -1)
	linger := time.Duration(a.float("linger", 0) * float64(time.Second))
	idleExit := a.float("idle-exit", -1)
	failFirst := a.int("fail-first-times", 0)
	maxReconsume := a.int("max-reconsume", -1)
	redeliveryDelay := time.Duration(a.int("redelivery-delay-ms", 0)) * time.Millisecond
	instance := a.str("instance", fmt.Sprintf("go-consumer-%d", os.Getpid()))
	creds, signed := credentials(a)
	a.done()

	opts := []consumer.Option{
		consumer.WithNameServer([]string{namesrv}),
		consumer.WithGroupName(group),
		consumer.WithInstance(instance),
		consumer.WithConsumerOrder(orderly),
		consumer.WithConsumeMessageBatchMaxSize(1),
	}
	if maxReconsume >= 0 {
		opts = append(opts, consumer.WithMaxReconsumeTimes(int32(maxReconsume)))
	}
	if broadcast {
		opts = append(opts, consumer.WithConsumerModel(consumer.BroadCasting))
	}
	switch {
	case from == "first":
		opts = append(opts, consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset))
	case from == "last":
		opts = append(opts, consumer.WithConsumeFromWhere(consumer.ConsumeFromLastOffset))
	case strings.HasPrefix(from, "timestamp:"):
		opts = append(opts, consumer.WithConsumeFromWhere(consumer.ConsumeFromTimestamp),
			consumer.WithConsumeTimestamp(strings.TrimPrefix(from, "timestamp:")))
	default:
		panic(usageError("--from first|last|timestamp:yyyyMMddHHmmss"))
	}
	if signed {
		opts = append(opts, consumer.WithCredentials(creds))
	}
	c, err := consumer.NewPushConsumer(opts...)
	if err != nil {
		return exitFail, err
	}
	selector := consumer.MessageSelector{Type: consumer.TAG, Expression: expr}
	if sql != "" {
		selector = consumer.MessageSelector{Type: consumer.SQL92, Expression: sql}
	}
	st := &consumeState{deliveries: map[string]int{}, succeeded: map[string]bool{}}
	fail := consumer.ConsumeRetryLater
	if orderly {
		fail = consumer.SuspendCurrentQueueAMoment
	}
	handler := func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		if deliver(st, msgs, failFirst, expect, redeliveryDelay, instance) {
			return consumer.ConsumeSuccess, nil
		}
		return fail, nil
	}
	if err := c.Subscribe(topic, selector, handler); err != nil {
		return exitFail, err
	}
	t0 := time.Now()
	if err := c.Start(); err != nil {
		return exitFail, err
	}
	emit(newEvent("started").put("client", "go").put("pid", os.Getpid()).
		put("instance", instance).put("group", group).put("topic", topic))

	var reason string
	code := exitOK
	for {
		now := time.Now()
		st.mu.Lock()
		got := len(st.succeeded)
		reached := st.expectReachedAt
		last := st.lastDelivery
		st.mu.Unlock()
		if last.Before(t0) {
			last = t0
		}
		if stopRequested.Load() {
			reason = "signal"
			break
		}
		if !reached.IsZero() && now.Sub(reached) >= linger {
			reason = "expect"
			break
		}
		if idleExit >= 0 && reached.IsZero() && now.Sub(last).Seconds() >= idleExit {
			reason = "idle"
			if expect >= 0 {
				code = exitFail
			}
			break
		}
		if now.Sub(t0) >= timeout {
			reason = "timeout"
			if expect >= 0 && reached.IsZero() {
				code = exitFail
				logf("ERROR: --timeout reached with %d/%d messages consumed", got, expect)
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Shutdown persists the offsets and unregisters, as an application would.
	shutdownWithin(10*time.Second, c.Shutdown)
	st.mu.Lock()
	done := newEvent("done").put("reason", reason).put("received", len(st.succeeded)).
		put("deliveries", st.total)
	st.mu.Unlock()
	emit(done.put("exitCode", code))
	return code, nil
}

// deliver records and prints deliveries; false asks the client to retry them.
func deliver(st *consumeState, msgs []*primitive.MessageExt, failFirst, expect int,
	redeliveryDelay time.Duration, instance string) bool {
	allOK := true
	for _, m := range msgs {
		body := string(m.Body)
		st.mu.Lock()
		st.deliveries[body]++
		n := st.deliveries[body]
		st.total++
		st.lastDelivery = time.Now()
		// A delivery whose reconsumeTimes already reached K is accepted whatever this process
		// saw before (compat/README.md, --fail-first-times).
		fail := n <= failFirst && int(m.ReconsumeTimes) < failFirst
		if !fail {
			st.succeeded[body] = true
			if expect >= 0 && st.expectReachedAt.IsZero() && len(st.succeeded) >= expect {
				st.expectReachedAt = time.Now()
			}
		}
		st.mu.Unlock()
		allOK = allOK && !fail
		queueID := -1
		if m.Queue != nil {
			queueID = m.Queue.QueueId
		}
		result := "ok"
		if fail {
			result = "retry"
		}
		emit(newEvent("message").put("body", body).put("tags", nullable(m.GetTags())).
			put("keys", nullable(m.GetKeys())).put("topic", m.Topic).put("queueId", queueID).
			put("queueOffset", m.QueueOffset).put("storeHost", m.StoreHost).put("msgId", m.MsgId).
			put("reconsumeTimes", m.ReconsumeTimes).put("instance", instance).
			put("result", result).put("delivery", n).put("commitLogOffset", m.CommitLogOffset).
			put("bornTimestamp", m.BornTimestamp).put("storeTimestamp", m.StoreTimestamp).
			put("props", m.GetProperties()))
		if n >= 2 && redeliveryDelay > 0 {
			time.Sleep(redeliveryDelay)
		}
	}
	return allOK
}
