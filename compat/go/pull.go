package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
)

// pull: --topic T --group G [--from first|last] [--expect N] [--idle-exit S] [--instance NAME]
// [--batch-size 16]. The v2 client's pull consumer in subscribe mode (it rebalances like a
// push consumer): Poll, then ACK every batch as consumed; Shutdown persists the acknowledged
// offsets. One `message` line per message, then `done`.
func pull(namesrv string, timeout time.Duration, a args) (int, error) {
	topic := a.req("topic")
	group := a.req("group")
	from := a.str("from", "last")
	expect := a.int("expect", -1)
	idleExit := a.float("idle-exit", -1)
	instance := a.str("instance", fmt.Sprintf("go-pull-%d", os.Getpid()))
	batch := a.int("batch-size", 16)
	a.done()
	where := consumer.ConsumeFromLastOffset
	switch from {
	case "first":
		where = consumer.ConsumeFromFirstOffset
	case "last":
	default:
		panic(usageError("--from first|last"))
	}
	c, err := consumer.NewPullConsumer(
		consumer.WithNameServer([]string{namesrv}),
		consumer.WithGroupName(group),
		consumer.WithInstance(instance),
		consumer.WithConsumeFromWhere(where),
		consumer.WithPullBatchSize(int32(batch)),
	)
	if err != nil {
		return exitFail, err
	}
	if err := c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}); err != nil {
		return exitFail, err
	}
	if err := c.Start(); err != nil {
		return exitFail, err
	}
	emit(newEvent("started").put("client", "go-pull").put("pid", os.Getpid()).
		put("instance", instance).put("group", group).put("topic", topic))

	t0 := time.Now()
	last := t0
	seen := map[string]bool{}
	total := 0
	reason := "timeout"
	code := exitOK
	if expect >= 0 {
		code = exitFail
	}
	ctx := context.Background()
	for time.Since(t0) < timeout {
		cr, err := c.Poll(ctx, 200*time.Millisecond)
		if err == nil {
			for _, m := range cr.GetMsgList() {
				last = time.Now()
				body := string(m.Body)
				seen[body] = true
				total++
				emit(newEvent("message").put("body", body).put("tags", nullable(m.GetTags())).
					put("keys", nullable(m.GetKeys())).put("topic", m.Topic).
					put("queueId", cr.GetMQ().QueueId).put("queueOffset", m.QueueOffset).
					put("msgId", m.MsgId).put("reconsumeTimes", m.ReconsumeTimes))
			}
			c.ACK(ctx, cr, consumer.ConsumeSuccess)
		} else if !consumer.IsNoNewMsgError(err) {
			logf("poll: %v", err)
		}
		if stopRequested.Load() {
			reason, code = "signal", exitOK
			break
		}
		if expect >= 0 && len(seen) >= expect {
			reason, code = "expect", exitOK
			break
		}
		if idleExit >= 0 && time.Since(last).Seconds() >= idleExit {
			reason = "idle"
			if expect < 0 {
				code = exitOK
			}
			break
		}
	}
	if reason == "timeout" && code != exitOK {
		logf("ERROR: --timeout reached with %d/%d messages", len(seen), expect)
	}
	// Shutdown persists the acknowledged offsets and unregisters.
	shutdownWithin(10*time.Second, c.Shutdown)
	emit(newEvent("done").put("reason", reason).put("received", len(seen)).
		put("deliveries", total).put("exitCode", code))
	return code, nil
}
