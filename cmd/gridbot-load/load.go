package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config is one load run.
type Config struct {
	Server      string // base URL of the bot or the echo server
	APIToken    string // gridbot's api.token (not needed with Echo)
	WeChatToken string
	AESKey      string // EncodingAESKey: safe mode; "": plain mode
	AppID       string
	Users       int
	Duration    time.Duration
	Mix         string // a key of mixes
	Echo        bool   // the target is the SDK echo server: replies repeat the text
	Zone        *time.Location
	Timeout     time.Duration // per request
	Progress    io.Writer     // progress lines; nil: none
}

// Community and grid the generator's users are bound to.
const (
	loadCommunity = "压测社区"
	loadGrid      = "压测网格"
	loadName      = "压测员"
)

// Result is what a run measured and checked.
type Result struct {
	Messages int           // requests sent in the measured phase
	Elapsed  time.Duration // measured phase
	CPU      time.Duration // the generator's own CPU time (user+system) in it
	Lat      []time.Duration
	OK       int            // replies that were the expected answer
	Late     int            // "success" replies: gridbot answers them by push later
	Errors   map[string]int // failed requests by kind
	Samples  []string       // the first few failures, for the report

	// Tally check (gridbot only).
	Period   string
	Acked    map[string]float64 // what the acknowledged saves count
	Maybe    map[string]float64 // what late or failed saving messages may count
	Before   map[string]float64
	After    map[string]float64
	Mismatch []string // empty: the tally agrees
	Skipped  string   // why the tally was not checked, if it was not
}

// Failed is true when a reply was wrong or the tally disagrees.
func (r *Result) Failed() bool { return len(r.Errors) > 0 || len(r.Mismatch) > 0 }

// errorCount is how many requests failed.
func (r *Result) errorCount() int {
	n := 0
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// Rate is messages per second in the measured phase.
func (r *Result) Rate() float64 { return float64(r.Messages) / r.Elapsed.Seconds() }

// Quantile is the q-quantile of the round trips (0 when none).
func (r *Result) Quantile(q float64) time.Duration {
	if len(r.Lat) == 0 {
		return 0
	}
	return r.Lat[min(len(r.Lat)-1, int(float64(len(r.Lat))*q))]
}

// user is one simulated WeChat user with its own keep-alive connection.
type user struct {
	idx     int
	openID  string
	rnd     *rand.Rand
	conn    *wireConn
	n       int  // steps sent in the mix's cycle
	rooms   int  // households used
	cancel  bool // send cancelStep next
	lat     []time.Duration
	ok      int
	late    int
	errs    map[string]int
	samples []string
	acked   map[string]float64
	maybe   map[string]float64
}

// loader runs a Config.
type loader struct {
	cfg    Config
	sig    *signer
	api    *apiClient
	tag    int          // this run's building number: its households are its own
	msgID  atomic.Int64 // unique MsgIds
	prefix string       // openid prefix of this run's users
}

// Run binds the users (gridbot), sends the mix for cfg.Duration and checks
// every reply and, for gridbot, the tallies. Its error is a run that could
// not start or finish (unreachable server, refused token, failed binding);
// wrong replies and tally mismatches are in the Result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if _, ok := mixes[cfg.Mix]; !ok {
		return nil, fmt.Errorf("unknown -mix %q: want oneline or full", cfg.Mix)
	}
	if cfg.Users < 1 {
		return nil, errors.New("-users must be at least 1")
	}
	if cfg.Zone == nil {
		cfg.Zone = time.Local
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	base := strings.TrimRight(cfg.Server, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("-server %q: want http://host:port (the generator speaks plain HTTP/1.1)", cfg.Server)
	}
	hostPort := u.Host
	if u.Port() == "" {
		hostPort = net.JoinHostPort(u.Hostname(), "80")
	}
	sig, err := newSigner(u.Path+"/wechat", cfg.WeChatToken, cfg.AppID, cfg.AESKey)
	if err != nil {
		return nil, err
	}
	l := &loader{
		cfg: cfg, sig: sig,
		api: &apiClient{base: base, token: cfg.APIToken, http: &http.Client{}},
		tag: 1 + rand.IntN(899),
	}
	l.prefix = "load-" + strconv.FormatInt(time.Now().UnixMilli()%1e9, 36) + "-"
	l.msgID.Store(time.Now().UnixMicro())

	users := make([]*user, cfg.Users)
	for i := range users {
		users[i] = &user{idx: i, openID: l.prefix + strconv.Itoa(i), rnd: rand.New(rand.NewPCG(rand.Uint64(), uint64(i))),
			conn: &wireConn{addr: hostPort}, errs: map[string]int{}, acked: map[string]float64{}, maybe: map[string]float64{}}
	}
	defer func() {
		for _, u := range users {
			u.conn.close()
		}
	}()
	res := &Result{Errors: map[string]int{}}
	if !cfg.Echo {
		if cfg.APIToken == "" {
			return nil, errors.New("-token (the bot's api.token) is required: the users are bound, and the tallies read, through the admin API")
		}
		res.Period = time.Now().In(cfg.Zone).Format("2006-01")
		if res.Before, err = l.api.tallies(ctx, "all", res.Period); err != nil {
			return nil, err
		}
	}
	if err := l.prepare(ctx, users); err != nil {
		return nil, err
	}

	l.progress("sending for %s from %d users …", cfg.Duration, cfg.Users)
	var sent atomic.Int64
	cpu0 := cpuTime()
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				l.next(u)
				sent.Add(1)
			}
		})
	}
	stopTicks := l.ticker(start, &sent)
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.CPU = cpuTime() - cpu0
	stopTicks()

	res.Acked, res.Maybe = map[string]float64{}, map[string]float64{}
	for _, u := range users {
		res.Lat = append(res.Lat, u.lat...)
		res.OK += u.ok
		res.Late += u.late
		for k, v := range u.errs {
			res.Errors[k] += v
		}
		for k, v := range u.acked {
			res.Acked[k] += v
		}
		for k, v := range u.maybe {
			res.Maybe[k] += v
		}
		if len(res.Samples) < 5 {
			res.Samples = append(res.Samples, u.samples[:min(len(u.samples), 5-len(res.Samples))]...)
		}
	}
	res.Messages = int(sent.Load())
	slices.Sort(res.Lat)
	if !cfg.Echo {
		if err := l.checkTally(ctx, res); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (l *loader) progress(format string, args ...any) {
	if l.cfg.Progress != nil {
		fmt.Fprintf(l.cfg.Progress, "gridbot-load: "+format+"\n", args...)
	}
}

// ticker prints the running count every 5 s; the returned func stops it.
func (l *loader) ticker(start time.Time, sent *atomic.Int64) func() {
	if l.cfg.Progress == nil {
		return func() {}
	}
	t := time.NewTicker(5 * time.Second)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				l.progress("%4.0fs: %d messages", now.Sub(start).Seconds(), sent.Load())
			}
		}
	}()
	return func() { t.Stop(); close(done) }
}

// prepare binds every user through an admin API invite (gridbot), or sends
// one checked message per user (echo); either way each user's connection
// is open before the clock starts.
func (l *loader) prepare(ctx context.Context, users []*user) error {
	if l.cfg.Echo {
		l.progress("warming up %d connections to the echo server", len(users))
	} else {
		l.progress("binding %d users through the admin API (%s/%s)", len(users), loadCommunity, loadGrid)
	}
	errs := make(chan error, len(users))
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			text, want := "你好", "你好"
			if !l.cfg.Echo {
				code, err := l.api.invite(ctx, loadCommunity, loadGrid)
				if err != nil {
					errs <- err
					return
				}
				text, want = "绑定 "+code+" "+loadName, "✅ 绑定成功"
			}
			reply, rerr := l.send(u, text)
			if rerr != nil {
				hint := ""
				if strings.Contains(rerr.msg, "status 401") {
					hint = " (the webhook refused the signature: check -wechat-token, and -aes with -aes-key and -app-id when the bot has an EncodingAESKey)"
				}
				errs <- fmt.Errorf("user %s: %q: %v%s", u.openID, text, rerr, hint)
				return
			}
			if !strings.HasPrefix(reply, want) {
				errs <- fmt.Errorf("user %s: %q was answered %q, want %q…: is -server a %s?",
					u.openID, text, short(reply), want, map[bool]string{true: "SDK echo server", false: "gridbot"}[l.cfg.Echo])
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when none
}

// send posts one signed message from u and returns the reply text.
func (l *loader) send(u *user, text string) (string, *replyError) {
	target, body := l.sig.request(u.openID, text, l.msgID.Add(1), u.rnd)
	status, reply, err := u.conn.post(target, body, l.cfg.Timeout)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "", failf(errTimeout, "no reply within %s", l.cfg.Timeout)
		}
		return "", failf(errTransport, "%v", err)
	}
	return l.sig.decode(status, reply, u.openID)
}

// next sends u's next step, times it and checks its reply.
func (l *loader) next(u *user) {
	st := cancelStep
	if u.cancel {
		u.cancel = false
	} else {
		m := mixes[l.cfg.Mix]
		st = m.step(u.n%m.cycle, func() string {
			u.rooms++
			return household(l.tag, u.idx, u.rooms-1)
		})
		u.n++
	}
	if l.cfg.Echo {
		st = step{text: st.text, want: []string{st.text}}
	}
	t0 := time.Now()
	reply, rerr := l.send(u, st.text)
	d := time.Since(t0)
	if rerr == nil || rerr.kind != errTransport && rerr.kind != errTimeout {
		u.lat = append(u.lat, d)
	}
	switch {
	case rerr == nil && reply == success:
		u.late++
		addTo(u.maybe, st.saves)
		return
	case rerr == nil && matches(reply, st, l.cfg.Echo):
		u.ok++
		addTo(u.acked, st.saves)
		return
	case rerr == nil:
		rerr = failf(errUnchecked, "%q was answered %q, want %q…", st.text, short(reply), st.want[0])
	}
	u.errs[rerr.kind]++
	if len(u.samples) < 2 {
		u.samples = append(u.samples, u.openID+": "+rerr.Error())
	}
	addTo(u.maybe, st.saves) // a save may have happened before the failure
	if rerr.kind == errTransport {
		time.Sleep(20 * time.Millisecond) // the server is down or restarting: do not spin
	}
	if st.restart {
		u.cancel = true
		u.n = 0
	}
}

// matches reports whether reply is what st expects: in echo mode the
// text itself, otherwise a reply starting with one of st.want.
func matches(reply string, st step, echo bool) bool {
	if echo {
		return reply == st.text
	}
	for _, w := range st.want {
		if strings.HasPrefix(reply, w) {
			return true
		}
	}
	return false
}

func addTo(m, add map[string]float64) {
	for k, v := range add {
		m[k] += v
	}
}

// short cuts a reply for a message, on a rune boundary.
func short(s string) string {
	if s == success {
		return "success"
	}
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}

// checkTally reads the tally of scope all for the run's period again and
// compares what it gained with the acknowledged saves: it must have gained
// exactly what they count, plus at most what the late and failed saving
// messages count. A period that changed during the run skips the check.
func (l *loader) checkTally(ctx context.Context, res *Result) error {
	if p := time.Now().In(l.cfg.Zone).Format("2006-01"); p != res.Period {
		res.Skipped = fmt.Sprintf("the month changed during the run (%s → %s)", res.Period, p)
		return nil
	}
	wait := time.Now().Add(15 * time.Second) // late answers may still be saving
	for {
		var err error
		if res.After, err = l.tallyAfter(ctx, res.Period); err != nil {
			return err
		}
		res.Mismatch = res.Mismatch[:0]
		pending := false
		for _, k := range checkedMetrics {
			got := res.After[k] - res.Before[k]
			lo, hi := res.Acked[k], res.Acked[k]+res.Maybe[k]
			if res.Late > 0 && got < hi {
				pending = true // a late answer's save may still be coming
			}
			if got < lo-1e-6 || got > hi+1e-6 {
				want := fmtNum(lo)
				if hi != lo {
					want = fmtNum(lo) + " to " + fmtNum(hi)
				}
				res.Mismatch = append(res.Mismatch, fmt.Sprintf("%s gained %s, acknowledged saves count %s", k, fmtNum(got), want))
			}
		}
		if !pending || time.Now().After(wait) || ctx.Err() != nil {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// tallyAfter reads the tally, waiting up to 30 s for a server that does
// not answer: one killed during the run (kill -9) and being restarted on
// the same store, whose acknowledged reports must all be there.
func (l *loader) tallyAfter(ctx context.Context, period string) (map[string]float64, error) {
	deadline := time.Now().Add(30 * time.Second)
	for said := false; ; {
		counts, err := l.api.tallies(ctx, "all", period)
		var ne net.Error
		if err == nil || !errors.As(err, &ne) || time.Now().After(deadline) || ctx.Err() != nil {
			return counts, err
		}
		if !said {
			l.progress("the admin API does not answer (%v); waiting up to 30s for the server to come back", err)
			said = true
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func fmtNum(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// CPUShare is the generator's CPU time over the run's wall time: near
// GOMAXPROCS (1.0 on the pinned bench), the generator and not the server
// bounded the rate.
func (r *Result) CPUShare() float64 { return r.CPU.Seconds() / r.Elapsed.Seconds() }
