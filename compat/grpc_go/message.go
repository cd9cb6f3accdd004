package main

import (
	"sort"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
)

// messageLine is the {"event":"message"} line of grpc_py/_driver.py message_line, with the same
// keys in the same order (keys of unset values left out). sp: the received protobuf's system
// properties (from the tap), for queueId, queueOffset, storeTimestamp and storeHost, which
// MessageView does not expose (it has the queue offset, 0 when unset).
func messageLine(mv *rmq.MessageView, sp *v2.SystemProperties, delivery int, acked bool) *event {
	keys := append([]string{}, mv.GetKeys()...)
	sort.Strings(keys)
	props := map[string]string{}
	for k, v := range mv.GetProperties() {
		props[k] = v
	}
	e := newEvent("message").
		put("body", string(mv.GetBody())).
		putOpt("tag", mv.GetTag()).
		put("keys", keys).
		put("props", props).
		put("topic", mv.GetTopic())
	if sp != nil {
		e.put("queueId", sp.GetQueueId())
		e.putOpt("queueOffset", sp.QueueOffset)
	}
	e.put("messageId", mv.GetMessageId()).
		put("deliveryAttempt", mv.GetDeliveryAttempt()).
		putOpt("messageGroup", mv.GetMessageGroup()).
		put("delivery", delivery).
		put("acked", acked)
	if t := mv.GetBornTimestamp(); t != nil {
		e.put("bornTimestamp", t.UnixMilli())
	}
	if h := mv.GetBornHost(); h != nil && *h != "" {
		e.put("bornHost", *h)
	}
	if sp != nil && sp.StoreTimestamp != nil {
		e.put("storeTimestamp", sp.StoreTimestamp.AsTime().UnixMilli())
	}
	if t := mv.GetDeliveryTimestamp(); t != nil && t.UnixMilli() != 0 {
		e.put("deliveryTimestamp", t.UnixMilli())
	}
	if sp != nil && sp.GetStoreHost() != "" {
		e.put("storeHost", sp.GetStoreHost())
	}
	return e
}
