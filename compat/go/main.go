// Command ferromq-compat-go drives the Apache RocketMQ Go client
// (github.com/apache/rocketmq-client-go/v2) against a RocketMQ name server and broker, following
// the conventions of compat/README.md: one JSON object per stdout line (each with an "event"
// key), human-readable logs on stderr, exit 0 success, 1 failed run, 2 bad usage or unreachable
// name server, 3 watchdog.
//
//	ferromq-compat-go produce|consume|pull --namesrv HOST:PORT [--timeout S] ...
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

const (
	exitOK       = 0
	exitFail     = 1
	exitUsage    = 2
	exitWatchdog = 3
)

// usageError is a bad command line: exit 2.
type usageError string

func (e usageError) Error() string { return string(e) }

// args holds `--key value` and `--flag` arguments; leftovers after parsing are typos (exit 2).
type args map[string]string

func parseArgs(argv []string) (args, error) {
	a := args{}
	for i := 0; i < len(argv); i++ {
		if !strings.HasPrefix(argv[i], "--") {
			return nil, usageError("unexpected argument: " + argv[i])
		}
		key := argv[i][2:]
		if i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "--") {
			a[key] = argv[i+1]
			i++
		} else {
			a[key] = "true"
		}
	}
	return a, nil
}

func (a args) str(key, dflt string) string {
	if v, ok := a[key]; ok {
		delete(a, key)
		return v
	}
	return dflt
}

func (a args) req(key string) string {
	v, ok := a[key]
	if !ok {
		panic(usageError("--" + key + " is required"))
	}
	delete(a, key)
	return v
}

func (a args) int(key string, dflt int) int {
	s := a.str(key, "")
	if s == "" {
		return dflt
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(usageError("--" + key + ": not an integer: " + s))
	}
	return n
}

func (a args) float(key string, dflt float64) float64 {
	s := a.str(key, "")
	if s == "" {
		return dflt
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(usageError("--" + key + ": not a number: " + s))
	}
	return f
}

func (a args) flag(key string) bool { return a.str(key, "false") == "true" }

// done is called once every option was read.
func (a args) done() {
	if len(a) > 0 {
		keys := make([]string, 0, len(a))
		for k := range a {
			keys = append(keys, "--"+k)
		}
		panic(usageError("unknown options: " + strings.Join(keys, " ")))
	}
}

// event is one stdout line. Keys are written in insertion order, as the other drivers do.
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

var outMu sync.Mutex

// emit writes one JSON line to stdout (unbuffered: os.Stdout is a plain file descriptor).
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

func logf(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "[go] "+format+"\n", a...)
}

// stopRequested is set by SIGTERM/SIGINT: the run loop then shuts the client down cleanly
// (offsets persisted, client unregistered) and exits 0, as the other drivers do.
var stopRequested atomic.Bool

func installStop() {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-ch
		logf("stop requested")
		stopRequested.Store(true)
	}()
}

// startWatchdog bounds the whole run whatever the client does.
func startWatchdog(d time.Duration) {
	time.AfterFunc(d, func() {
		logf("watchdog: still running after %v, exiting", d)
		emit(newEvent("watchdog"))
		os.Exit(exitWatchdog)
	})
}

func requireReachable(namesrv string) {
	addr := strings.Split(namesrv, ";")[0]
	if _, _, err := net.SplitHostPort(addr); err != nil {
		panic(usageError("--namesrv must be HOST:PORT"))
	}
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		logf("name server %s is not reachable: %v", namesrv, err)
		os.Exit(exitUsage)
	}
	_ = c.Close()
}

// shutdownWithin runs the client's Shutdown (which persists offsets and unregisters) but gives
// it at most d: the convention allows the shutdown ≤ 10 s.
func shutdownWithin(d time.Duration, f func() error) {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	select {
	case err := <-ch:
		if err != nil {
			logf("shutdown: %v", err)
		}
	case <-time.After(d):
		logf("shutdown did not finish within %v", d)
	}
}

func main() {
	// The client logs through logrus to stderr at info level; keep stderr readable unless asked
	// (ROCKETMQ_GO_LOG_LEVEL, read by the client itself, or --verbose).
	if os.Getenv("ROCKETMQ_GO_LOG_LEVEL") == "" {
		rlog.SetLogLevel("warn")
	}
	if len(os.Args) < 2 {
		logf("usage: ferromq-compat-go <produce|consume|pull> --namesrv HOST:PORT ...")
		os.Exit(exitUsage)
	}
	os.Exit(run(os.Args[1], os.Args[2:]))
}

func run(cmd string, argv []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			if u, ok := r.(usageError); ok {
				logf("usage: %s", string(u))
				code = exitUsage
				return
			}
			panic(r)
		}
	}()
	a, err := parseArgs(argv)
	if err != nil {
		panic(err)
	}
	namesrv := a.req("namesrv")
	timeout := time.Duration(a.float("timeout", 60) * float64(time.Second))
	if a.flag("verbose") {
		rlog.SetLogLevel("info")
	}
	startWatchdog(timeout + 15*time.Second)
	requireReachable(namesrv)
	installStop()
	switch cmd {
	case "produce", "producer":
		code, err = produce(namesrv, timeout, a)
	case "consume", "consumer":
		code, err = consume(namesrv, timeout, a)
	case "pull":
		code, err = pull(namesrv, timeout, a)
	default:
		panic(usageError("unknown command " + cmd))
	}
	if err != nil {
		logf("ERROR: %v", err)
		emit(newEvent("error").put("error", err.Error()))
		return exitFail
	}
	return code
}

// credentials reads --access-key and --secret-key: the client then signs every request
// (primitive.Credentials, as an application on an ACL-enabled cluster sets them).
func credentials(a args) (primitive.Credentials, bool) {
	ak := a.str("access-key", "")
	sk := a.str("secret-key", "")
	return primitive.Credentials{AccessKey: ak, SecretKey: sk}, ak != ""
}
