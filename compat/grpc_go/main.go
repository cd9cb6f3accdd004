// Command ferromq-compat-grpc-go drives the Apache RocketMQ 5.x Go client
// (github.com/apache/rocketmq-clients/golang/v5, gRPC apache.rocketmq.v2.MessagingService) with the
// command-line options and the stdout contract of the Python gRPC drivers in compat/grpc_py/:
//
//	ferromq-compat-grpc-go produce --endpoint HOST:PORT --topic T ...   (grpc_py/producer.py)
//	ferromq-compat-grpc-go simple  --endpoint HOST:PORT --topic T --group G ...   (grpc_py/simple_consumer.py)
//	ferromq-compat-grpc-go push    --endpoint HOST:PORT --topic T --group G ...   (grpc_py/push_consumer.py)
//
// stdout carries one JSON object per line (each with an "event" key), stderr human-readable logs.
// Exit 0 success, 1 failed run, 2 bad usage or unreachable endpoint, 3 watchdog (--timeout + 15 s).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
	"github.com/apache/rocketmq-clients/golang/v5/pkg/zaplog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	exitOK       = 0
	exitFail     = 1
	exitUsage    = 2
	exitWatchdog = 3

	// shutdownGrace is the time allowed for the client's shutdown once the run is over.
	shutdownGrace = 10 * time.Second
	// watchdogExtra: the watchdog ends the process this long after --timeout.
	watchdogExtra = 15 * time.Second

	clientName = "grpc-go"
	binName    = "ferromq-compat-grpc-go"
)

// ---------------------------------------------------------------------------------------------
// stdout events and stderr logs
// ---------------------------------------------------------------------------------------------

// event is one stdout line; keys keep their insertion order, as the Python drivers' dicts do.
type event struct {
	keys []string
	vals map[string]interface{}
}

func newEvent(name string) *event {
	e := &event{vals: map[string]interface{}{}}
	return e.put("event", name)
}

func (e *event) put(k string, v interface{}) *event {
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
	return e
}

// putOpt puts v unless it is nil (a nil pointer included): the Python drivers leave out None values.
func (e *event) putOpt(k string, v interface{}) *event {
	switch x := v.(type) {
	case nil:
		return e
	case *string:
		if x == nil {
			return e
		}
		return e.put(k, *x)
	case *int64:
		if x == nil {
			return e
		}
		return e.put(k, *x)
	case *int32:
		if x == nil {
			return e
		}
		return e.put(k, *x)
	case *bool:
		if x == nil {
			return e
		}
		return e.put(k, *x)
	}
	return e.put(k, v)
}

var outMu sync.Mutex

// emit writes one JSON line to stdout (os.Stdout is unbuffered: one write per line).
func emit(e *event) {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, k := range e.keys {
		if i > 0 {
			sb.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(e.vals[k])
		if err != nil {
			vb, _ = json.Marshal(fmt.Sprint(e.vals[k]))
		}
		sb.Write(kb)
		sb.WriteByte(':')
		sb.Write(vb)
	}
	sb.WriteString("}\n")
	outMu.Lock()
	defer outMu.Unlock()
	_, _ = os.Stdout.WriteString(sb.String())
}

var (
	logName = "grpc-go"
	t0      = time.Now()
	errMu   sync.Mutex
)

func logf(format string, a ...interface{}) {
	msg := fmt.Sprintf(format, a...)
	errMu.Lock()
	defer errMu.Unlock()
	fmt.Fprintf(os.Stderr, "[%s %d +%.1fs] %s\n", logName, os.Getpid(), time.Since(t0).Seconds(), msg)
}

func errorEvent(msg string) *event { return newEvent("error").put("error", msg) }

// errorText names what failed: the v2 status code when the server answered one (the client wraps
// it as ErrRpcStatus "CODE: X, MESSAGE: ..."), the gRPC status code for transport failures.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	if _, ok := rmq.AsErrRpcStatus(err); ok {
		return "ErrRpcStatus: " + err.Error()
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		return "grpc " + s.Code().String() + ": " + s.Message()
	}
	return err.Error()
}

// ---------------------------------------------------------------------------------------------
// run control: watchdog, signals, bounded calls
// ---------------------------------------------------------------------------------------------

func startWatchdog(d time.Duration, what string) {
	time.AfterFunc(d, func() {
		logf("ERROR: watchdog: %s still running after %.0fs, killing myself", what, d.Seconds())
		emit(errorEvent(fmt.Sprintf("watchdog fired after %.0fs", d.Seconds())))
		os.Exit(exitWatchdog)
	})
}

// stopper is set by SIGTERM/SIGINT: the run ends cleanly (client shut down), exit 0.
type stopper struct {
	once sync.Once
	ch   chan struct{}
	set  atomic.Bool
}

func newStopper() *stopper { return &stopper{ch: make(chan struct{})} }

func (s *stopper) stop() {
	s.once.Do(func() {
		s.set.Store(true)
		close(s.ch)
	})
}

func (s *stopper) isSet() bool { return s.set.Load() }

// wait sleeps d or until stopped.
func (s *stopper) wait(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.ch:
	}
}

func installStopSignals(s *stopper) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for sig := range ch {
			n := 0
			if ss, ok := sig.(syscall.Signal); ok {
				n = int(ss)
			}
			logf("received signal %d, stopping", n)
			s.stop()
		}
	}()
}

// runBounded runs f on a goroutine: exit 1 (with an error line) when it fails or is still running
// at the deadline.
func runBounded(f func() error, deadline time.Time, what string) {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case err := <-ch:
		if err != nil {
			logf("ERROR: %s failed: %s", what, errorText(err))
			emit(errorEvent(fmt.Sprintf("%s failed: %s", what, errorText(err))))
			os.Exit(exitFail)
		}
	case <-t.C:
		logf("ERROR: %s did not finish before --timeout", what)
		emit(errorEvent(what + " timed out"))
		os.Exit(exitFail)
	}
}

// shutdownBounded runs the client's GracefulStop (NotifyClientTermination, channels closed), at
// most shutdownGrace.
func shutdownBounded(f func() error, what string) {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	t := time.NewTimer(shutdownGrace)
	defer t.Stop()
	select {
	case err := <-ch:
		if err != nil {
			logf("warning: %s shutdown failed: %s", what, errorText(err))
		}
	case <-t.C:
		logf("warning: %s shutdown did not finish within %.0fs", what, shutdownGrace.Seconds())
		emit(newEvent("shutdown_timeout"))
	}
}

func elapsedMs(since time.Time) int64 { return time.Since(since).Milliseconds() }

// ---------------------------------------------------------------------------------------------
// endpoint, client configuration, logs
// ---------------------------------------------------------------------------------------------

type common struct {
	endpoint       *string
	namespace      *string
	requestTimeout *int
	timeout        *float64
	logHome        *string
	verbose        *bool
}

func addCommon(p *parser) *common {
	return &common{
		endpoint:       p.str("endpoint", "", true, "gRPC endpoint HOST:PORT (cleartext HTTP/2)"),
		namespace:      p.str("namespace", "", false, "resource namespace (default: none)"),
		requestTimeout: p.int("request-timeout", 3, "the client's per-request timeout, whole seconds (client default 3)"),
		timeout:        p.posFloat("timeout", 60, "bound on the whole run, seconds"),
		logHome:        p.strOpt("log-home", "directory used as $HOME by the client (its log: DIR/logs/rocketmq/rocketmq_client_go.log)"),
		verbose:        p.flag("verbose", "also copy the client's own log (INFO) to stderr"),
	}
}

func (c *common) timeoutDur() time.Duration {
	return time.Duration(*c.timeout * float64(time.Second))
}

func parseEndpoint(v string) (string, int, error) {
	i := strings.LastIndex(v, ":")
	if i <= 0 || i == len(v)-1 {
		return "", 0, fmt.Errorf("--endpoint must be HOST:PORT, got %q", v)
	}
	port := v[i+1:]
	for _, r := range port {
		if r < '0' || r > '9' {
			return "", 0, fmt.Errorf("--endpoint must be HOST:PORT, got %q", v)
		}
	}
	n, _ := strconv.Atoi(port)
	return v[:i], n, nil
}

// preflight exits 2 (with an error line) unless something accepts TCP connections on the endpoint
// within 3 s.
func preflight(endpoint string) {
	host, port, err := parseEndpoint(endpoint)
	if err != nil {
		logf("ERROR: %v", err)
		emit(errorEvent(err.Error()))
		os.Exit(exitUsage)
	}
	addr := net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))
	deadline := time.Now().Add(3 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		d := time.Until(deadline)
		if d < 200*time.Millisecond {
			d = 200 * time.Millisecond
		}
		c, err := net.DialTimeout("tcp", addr, d)
		if err == nil {
			_ = c.Close()
			return
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	logf("ERROR: endpoint %s is not reachable: %v", endpoint, last)
	emit(errorEvent(fmt.Sprintf("endpoint %s unreachable: %v", endpoint, last)))
	os.Exit(exitUsage)
}

// Environment variables the client reads (golang/v5 log.go and conn.go); they have dots in their
// names, which os.Setenv allows.
const (
	envLogRoot        = "rocketmq.client.logRoot"
	envLogFileName    = "rocketmq.client.logFileName"
	envConsoleAppend  = "mq.consoleAppender.enabled"
	clientLogFileName = "rocketmq_client_go.log"
	grpcLogFileName   = "rocketmq_client_go_grpc.log"
)

// useLogHome sets up the client's two logs:
//   - its main log (zap, package init): $rocketmq.client.logRoot/$rocketmq.client.logFileName,
//     default ~/logs/rocketmq/rocketmq_client_go.log, ~ being os.UserHomeDir() ($HOME). It is set up
//     in an init function, so it is re-initialised (ResetLogger) after the environment changed.
//     mq.consoleAppender.enabled=true would send it to stdout, which carries the JSON lines: it is
//     switched off.
//   - the log of every unary gRPC call (request and response on errors), which the client writes
//     to the fixed path /tmp/rocketmq-logger.log; the driver puts it beside the main log
//     (rocketmq_client_go_grpc.log), see installTap.
//
// It returns the directory of both logs.
func useLogHome(path string) string {
	if path != "" {
		abs, err := filepath.Abs(path)
		if err == nil {
			path = abs
		}
		_ = os.MkdirAll(path, 0o755)
		_ = os.Setenv("HOME", path)
		_ = os.Setenv(envLogRoot, filepath.Join(path, "logs", "rocketmq"))
	}
	_ = os.Unsetenv(envConsoleAppend)
	rmq.ResetLogger()
	root := os.Getenv(envLogRoot)
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "/tmp"
		}
		root = filepath.Join(home, "logs", "rocketmq")
	}
	return root
}

func clientLogPath(root string) string {
	name := os.Getenv(envLogFileName)
	if name == "" {
		name = clientLogFileName
	}
	return filepath.Join(root, name)
}

// copyLogToStderr follows the client's log file (from its current end) and copies what is
// appended to stderr: the client has no hook for its zap logger.
func copyLogToStderr(path string) {
	go func() {
		var f *os.File
		var off int64 = -1
		buf := make([]byte, 64*1024)
		for {
			if f == nil {
				var err error
				f, err = os.Open(path)
				if err != nil {
					off = 0 // created later: copy it from its start
					time.Sleep(200 * time.Millisecond)
					continue
				}
				if off < 0 {
					off, _ = f.Seek(0, io.SeekEnd)
				}
			}
			if st, err := os.Stat(path); err == nil && st.Size() < off {
				off = 0 // rotated or truncated
				_ = f.Close()
				f = nil
				continue
			}
			n, err := f.ReadAt(buf, off)
			if n > 0 {
				off += int64(n)
				errMu.Lock()
				_, _ = os.Stderr.Write(buf[:n])
				errMu.Unlock()
			}
			if n == 0 || errors.Is(err, io.EOF) {
				time.Sleep(200 * time.Millisecond)
			}
		}
	}()
}

// setupClient prepares the client library before any client is created: cleartext gRPC, logs,
// and the tap (interceptors) that reads what the client's API does not expose.
func setupClient(c *common) *tap {
	// The client dials TLS unless rocketmq.client.enableSsl=false was in the environment when it was
	// loaded (conn.go init); the endpoint is cleartext HTTP/2, as for the Python drivers.
	rmq.EnableSsl = false
	root := useLogHome(*c.logHome)
	if *c.verbose {
		copyLogToStderr(clientLogPath(root))
	}
	t := newTap()
	grpcLog := zaplog.New(zaplog.WithFileName(filepath.Join(root, grpcLogFileName)))
	t.install(grpcLog)
	return t
}

func config(c *common, group string) *rmq.Config {
	return &rmq.Config{
		Endpoint:      *c.endpoint,
		NameSpace:     *c.namespace,
		ConsumerGroup: group,
		// Empty credentials, as the Python drivers' Credentials(): the client then signs with an
		// empty access key and secret.
		Credentials: &credentials.SessionCredentials{},
	}
}

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

const topUsage = `usage: ferromq-compat-grpc-go {produce|simple|push} --endpoint HOST:PORT [options]

Drives the Apache RocketMQ 5.x Go client (github.com/apache/rocketmq-clients/golang/v5, gRPC) with the
options and JSON-line stdout of compat/grpc_py/{producer,simple_consumer,push_consumer}.py.
'ferromq-compat-grpc-go COMMAND -h' describes a command.

commands:
  produce   Producer: normal, fifo, delay and transactional sends (grpc_py/producer.py)
  simple    SimpleConsumer: receive, ack, change invisible duration (grpc_py/simple_consumer.py)
  push      PushConsumer with a message listener (grpc_py/push_consumer.py)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, topUsage)
		os.Exit(exitUsage)
	}
	cmd, argv := os.Args[1], os.Args[2:]
	switch cmd {
	case "-h", "--help", "help":
		fmt.Print(topUsage)
		os.Exit(exitOK)
	case "produce", "producer":
		runProduce(argv)
	case "simple", "simple-consumer", "simple_consumer":
		runSimple(argv)
	case "push", "push-consumer", "push_consumer":
		runPush(argv)
	default:
		fmt.Fprint(os.Stderr, topUsage)
		fmt.Fprintf(os.Stderr, "%s: error: unknown command %q\n", binName, cmd)
		os.Exit(exitUsage)
	}
}
