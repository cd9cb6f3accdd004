package main

// The tap: gRPC interceptors on the client's channels that read what the client's API does not
// expose (the Python drivers read the same from the received protobuf):
//   - the client id (x-mq-client-id of any request);
//   - queue id, queue offset, store host and store timestamp of each received message (MessageView
//     has only the queue offset);
//   - the answer to each AckMessage: the client's Ack returns no error when the server answers a
//     non-OK status (simple_consumer.go and push_consumer.go only check transport errors);
//   - the ids of the last SendMessage (SendReceipt has only the server's id);
//   - Settings.subscription.fifo as the server answered it on the Telemetry stream.
// It changes nothing on the wire. It is installed by wrapping golang.NewRpcClient, the constructor
// the client manager calls for every endpoint, with extra dial options.

import (
	"context"
	"sync"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

type tap struct {
	mu        sync.Mutex
	clientID  string
	received  map[string]*v2.SystemProperties // receipt handle -> system properties
	ackStatus map[string]*v2.Status           // receipt handle -> non-OK answer to its AckMessage
	sentIDs   []string                        // message ids of the last SendMessage request
	fifo      *bool
	settings  *v2.Settings // the last Settings the server sent
}

func newTap() *tap {
	return &tap{received: map[string]*v2.SystemProperties{}, ackStatus: map[string]*v2.Status{}}
}

func (t *tap) install(grpcLog *zap.Logger) {
	orig := rmq.NewRpcClient
	rmq.NewRpcClient = func(target string, opts ...rmq.RpcClientOption) (rmq.RpcClient, error) {
		opts = append(opts, rmq.WithRpcClientConnOption(
			rmq.WithZapLogger(grpcLog),
			rmq.WithDialOptions(grpc.WithChainUnaryInterceptor(t.unary), grpc.WithChainStreamInterceptor(t.stream)),
		))
		return orig(target, opts...)
	}
}

func (t *tap) noteClientID(ctx context.Context) {
	md, ok := metadata.FromOutgoingContext(ctx)
	if !ok {
		return
	}
	if ids := md.Get("x-mq-client-id"); len(ids) > 0 && ids[0] != "" {
		t.mu.Lock()
		if t.clientID == "" {
			t.clientID = ids[0]
		}
		t.mu.Unlock()
	}
}

func (t *tap) getClientID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.clientID
}

func (t *tap) unary(ctx context.Context, method string, req, reply interface{}, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	t.noteClientID(ctx)
	err := invoker(ctx, method, req, reply, cc, opts...)
	switch r := req.(type) {
	case *v2.SendMessageRequest:
		ids := make([]string, 0, len(r.GetMessages()))
		for _, m := range r.GetMessages() {
			ids = append(ids, m.GetSystemProperties().GetMessageId())
		}
		t.mu.Lock()
		t.sentIDs = ids
		t.mu.Unlock()
	case *v2.AckMessageRequest:
		resp, ok := reply.(*v2.AckMessageResponse)
		if err != nil || !ok {
			break
		}
		byHandle := map[string]*v2.Status{}
		for _, e := range resp.GetEntries() {
			byHandle[e.GetReceiptHandle()] = e.GetStatus()
		}
		t.mu.Lock()
		for _, e := range r.GetEntries() {
			st := resp.GetStatus()
			if es, ok := byHandle[e.GetReceiptHandle()]; ok && es != nil && es.GetCode() != v2.Code_OK {
				st = es
			}
			if st == nil {
				st = &v2.Status{Code: v2.Code_INTERNAL_SERVER_ERROR, Message: "AckMessageResponse without status"}
			}
			if st.GetCode() != v2.Code_OK {
				t.ackStatus[e.GetReceiptHandle()] = st
			}
		}
		t.mu.Unlock()
	}
	return err
}

func (t *tap) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
	streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	t.noteClientID(ctx)
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	return &tappedStream{ClientStream: cs, t: t}, nil
}

type tappedStream struct {
	grpc.ClientStream
	t *tap
}

func (s *tappedStream) RecvMsg(m interface{}) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		return err
	}
	switch x := m.(type) {
	case *v2.ReceiveMessageResponse:
		if msg := x.GetMessage(); msg != nil {
			sp := msg.GetSystemProperties()
			s.t.mu.Lock()
			s.t.received[sp.GetReceiptHandle()] = sp
			s.t.mu.Unlock()
		}
	case *v2.TelemetryCommand:
		if st := x.GetSettings(); st != nil {
			s.t.mu.Lock()
			s.t.settings = st
			if sub := st.GetSubscription(); sub != nil && sub.Fifo != nil {
				f := sub.GetFifo()
				s.t.fifo = &f
			}
			s.t.mu.Unlock()
		}
	}
	return nil
}

// receivedProps returns the system properties of the delivery with this receipt handle. They are
// kept: a FIFO push consumer calls the listener again with the same MessageView (same handle) when
// it retries a message locally.
func (t *tap) receivedProps(handle string) *v2.SystemProperties {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.received[handle]
}

// takeAckStatus returns (and forgets) the non-OK status the server answered to the ack of this
// receipt handle, or nil.
func (t *tap) takeAckStatus(handle string) *v2.Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.ackStatus[handle]
	delete(t.ackStatus, handle)
	return st
}

func (t *tap) lastSentIDs() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sentIDs
}

func (t *tap) serverFifo() *bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fifo
}
