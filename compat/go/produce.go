package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// keySelector is the orderly selector of --order-key-count: a message whose sharding key is
// k<n> goes to queue n % queueCount (as the C++ and Java drivers do), others round robin.
type keySelector struct{ fallback producer.QueueSelector }

func (s keySelector) Select(m *primitive.Message, mqs []*primitive.MessageQueue, last string) *primitive.MessageQueue {
	if k := m.GetShardingKey(); strings.HasPrefix(k, "k") {
		if n, err := strconv.Atoi(k[1:]); err == nil {
			return mqs[n%len(mqs)]
		}
	}
	return s.fallback.Select(m, mqs, last)
}

// produce: --topic T --group G --count N [--mode sync|async|oneway|batch] [--tags A,B]
// [--keys-prefix K] [--body-prefix msg-] [--order-key-count K] [--props k=v;k2=v2]
// [--instance NAME] [--send-timeout-ms MS] [--batch-size 16] [--access-key AK --secret-key SK].
// One `sent` line per message
// (oneway: no result), then `done`.
func produce(namesrv string, timeout time.Duration, a args) (int, error) {
	topic := a.req("topic")
	group := a.req("group")
	count := a.int("count", 1)
	mode := a.str("mode", "sync")
	var tags []string
	if t := a.str("tags", ""); t != "" {
		tags = strings.Split(t, ",")
	}
	keysPrefix, hasKeys := a["keys-prefix"]
	delete(a, "keys-prefix")
	bodyPrefix := a.str("body-prefix", "msg-")
	orderKeys := a.int("order-key-count", 0)
	props := a.str("props", "")
	instance := a.str("instance", fmt.Sprintf("go-producer-%d", os.Getpid()))
	sendTimeout := time.Duration(a.int("send-timeout-ms", 3000)) * time.Millisecond
	batchSize := a.int("batch-size", 16)
	creds, signed := credentials(a)
	a.done()
	if mode != "sync" && mode != "async" && mode != "oneway" && mode != "batch" {
		panic(usageError("--mode sync|async|oneway|batch"))
	}
	if orderKeys > 0 && mode != "sync" {
		panic(usageError("--order-key-count needs --mode sync"))
	}

	popts := []producer.Option{
		producer.WithNameServer([]string{namesrv}),
		producer.WithGroupName(group),
		producer.WithInstanceName(instance),
		producer.WithSendMsgTimeout(sendTimeout),
		// One broker: a retry would only resend to the same broker and hide a failed send.
		producer.WithRetry(0),
		producer.WithQueueSelector(keySelector{producer.NewRoundRobinQueueSelector()}),
	}
	if signed {
		popts = append(popts, producer.WithCredentials(creds))
	}
	p, err := producer.NewDefaultProducer(popts...)
	if err != nil {
		return exitFail, err
	}
	if err := p.Start(); err != nil {
		return exitFail, err
	}
	defer shutdownWithin(10*time.Second, p.Shutdown)

	msgs := make([]*primitive.Message, count)
	orderKey := make([]interface{}, count)
	for i := range msgs {
		m := primitive.NewMessage(topic, []byte(fmt.Sprintf("%s%d", bodyPrefix, i)))
		if len(tags) > 0 {
			m.WithTag(tags[i%len(tags)])
		}
		if hasKeys {
			m.WithKeys([]string{fmt.Sprintf("%s%d", keysPrefix, i)})
		}
		if orderKeys > 0 {
			k := fmt.Sprintf("k%d", i%orderKeys)
			m.WithShardingKey(k)
			orderKey[i] = k
		}
		for _, kv := range strings.Split(props, ";") {
			if eq := strings.IndexByte(kv, '='); eq > 0 {
				m.WithProperty(kv[:eq], kv[eq+1:])
			}
		}
		msgs[i] = m
	}

	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var mu sync.Mutex
	ok, failed := 0, 0
	record := func(i int, r *primitive.SendResult, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed++
			emit(newEvent("send_error").put("i", i).put("error", err.Error()))
			return
		}
		if r.Status == primitive.SendOK {
			ok++
		} else {
			failed++
		}
		emit(sentEvent(i, msgs[i], orderKey[i], r))
	}

	switch mode {
	case "sync":
		for i, m := range msgs {
			if stopRequested.Load() {
				break
			}
			r, err := p.SendSync(ctx, m)
			record(i, r, err)
		}
	case "async":
		var wg sync.WaitGroup
		for i, m := range msgs {
			i := i
			wg.Add(1)
			err := p.SendAsync(ctx, func(_ context.Context, r *primitive.SendResult, err error) {
				record(i, r, err)
				wg.Done()
			}, m)
			if err != nil {
				record(i, nil, err)
				wg.Done()
			}
		}
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-ctx.Done():
			logf("ERROR: async sends did not all complete within --timeout")
			return exitFail, nil
		}
	case "oneway":
		for i, m := range msgs {
			if err := p.SendOneWay(ctx, m); err != nil {
				record(i, nil, err)
				continue
			}
			emit(newEvent("sent").put("i", i).put("status", "ONEWAY"))
			ok++
		}
	case "batch":
		for from := 0; from < count; from += batchSize {
			to := from + batchSize
			if to > count {
				to = count
			}
			r, err := p.SendSync(ctx, msgs[from:to]...)
			if err != nil {
				for i := from; i < to; i++ {
					record(i, nil, err)
				}
				continue
			}
			for i := from; i < to; i++ {
				ev := sentEvent(i, msgs[i], nil, r)
				// One result for the whole batch: the queue offset is the first message's, and
				// the Go client sets no UNIQ_KEY on batched messages, so its msgId is empty.
				ev.put("queueOffset", r.QueueOffset+int64(i-from))
				ev.put("msgId", nil)
				ev.put("batchMsgIds", r.OffsetMsgID)
				emit(ev)
			}
			if r.Status == primitive.SendOK {
				ok += to - from
			} else {
				failed += to - from
			}
		}
	}
	emit(newEvent("done").put("sent", ok).put("failed", failed).
		put("elapsedMs", time.Since(t0).Milliseconds()))
	if failed == 0 && ok == count {
		return exitOK, nil
	}
	return exitFail, nil
}

func sentEvent(i int, m *primitive.Message, orderKey interface{}, r *primitive.SendResult) *event {
	ev := newEvent("sent").put("i", i).put("body", string(m.Body))
	ev.put("tags", nullable(m.GetTags())).put("keys", nullable(m.GetKeys())).put("orderKey", orderKey)
	ev.put("msgId", r.MsgID).put("offsetMsgId", r.OffsetMsgID).put("status", statusName(r.Status))
	if q := r.MessageQueue; q != nil {
		ev.put("topic", q.Topic).put("brokerName", q.BrokerName).put("queueId", q.QueueId)
	}
	return ev.put("queueOffset", r.QueueOffset)
}

func statusName(s primitive.SendStatus) string {
	switch s {
	case primitive.SendOK:
		return "SEND_OK"
	case primitive.SendFlushDiskTimeout:
		return "FLUSH_DISK_TIMEOUT"
	case primitive.SendFlushSlaveTimeout:
		return "FLUSH_SLAVE_TIMEOUT"
	case primitive.SendSlaveNotAvailable:
		return "SLAVE_NOT_AVAILABLE"
	default:
		return fmt.Sprintf("UNKNOWN(%d)", s)
	}
}

// nullable reports an absent property as JSON null, as the Java driver does.
func nullable(s string) interface{} {
	if s == "" {
		return nil
	}
	return s
}
