// Command gridbot-load measures a running gridbot, or the WeChat SDK's bare
// echo server, under the load of many WeChat users: it binds N users
// through the admin API, sends signed (plain or safe-mode) messages from
// each over its own keep-alive connection for a fixed time, checks every
// reply, and at the end compares what the acknowledged reports count with
// the bot's tallies. It prints msgs/s, p50/p90/p99 round trips and errors
// by kind, and exits 1 when a reply or the tally was wrong.
//
// "gridbot-load -serve-echo ADDR" runs the SDK echo server the figures are
// compared against; scripts/bench-pinned runs both, pinned to one core.
//
// It talks to gridbot only over HTTP, as WeChat and an admin would: it
// imports bot for DecodeAESKey only, never the test helpers of bot/wxtest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

const usage = `Usage: gridbot-load [flags]
       gridbot-load -serve-echo ADDR [-wechat-token T] [-aes -aes-key K -app-id A]

Sends signed WeChat messages from -users users to a running gridbot for
-duration, each user on its own keep-alive connection, one message after
another, and checks every reply: a report must be answered with its ✅ text
stating what was sent; a reply of "success" means gridbot missed its reply
deadline and will push the answer later (counted as late, not an error).

Before the run it creates one invite per user through the admin API (-token)
and binds each user with "绑定 CODE 压测员"; it reads GET /api/v1/tallies for
scope all and the current month before and after, and exits 1 when what the
tally gained differs from what the acknowledged reports count (late and failed
reports may or may not be counted, so they widen the accepted range).

A server killed during the run (kill -9) and restarted on the same store: its
requests fail as transport errors until it is back, and the tally check waits
up to 30s for the admin API, then shows whether an acknowledged report was lost.

With -echo the target is the SDK echo server (see -serve-echo): no binding, no
tally; every reply must repeat the message's text.

Against a local bot:
  GRIDBOT_API_TOKEN=secret GRIDBOT_LIMITS_PER_USER_PER_MINUTE=0 go run ./cmd/gridbot serve
  GRIDBOT_API_TOKEN=secret go run ./cmd/gridbot-load -duration 10s

Output: msgs/s is answered messages per second of the run; p50/p90/p99 are
round trips as the client saw them (sending, server, reply), in ms; the
generator's own CPU share tells whether it, rather than the server, set the
pace. The last line, RESULT key=value ..., is for scripts.

Exit status: 0 all replies and the tally right; 1 a wrong reply or tally; 2 the
run could not start (bad flag, server unreachable, token refused, binding failed).

Mixes (-mix):
%s
Flags (a flag not given falls back to the environment variable named):
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gridbot-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "http://127.0.0.1:8080", "base `URL` of the bot (or of the echo server with -echo); /wechat is appended")
	token := fs.String("token", "", "admin API `token` of the bot (api.token) [$GRIDBOT_API_TOKEN]")
	wxToken := fs.String("wechat-token", "", "the Official Account's `Token` the bot checks signatures with (wechat.token) [$GRIDBOT_WECHAT_TOKEN, else gridbot]")
	aes := fs.Bool("aes", false, "safe mode: encrypt every message with -aes-key, as WeChat does when 安全模式 is on")
	aesKey := fs.String("aes-key", "", "the 43-character EncodingAESKey (wechat.encoding_aes_key) for -aes [$GRIDBOT_WECHAT_ENCODING_AES_KEY]")
	appID := fs.String("app-id", "", "the AppID sealed into safe-mode messages (wechat.app_id) [$GRIDBOT_WECHAT_APP_ID]")
	users := fs.Int("users", 64, "concurrent `users`, each bound as a worker and on its own connection")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	mix := fs.String("mix", "oneline", "traffic: oneline or full (see above)")
	echo := fs.Bool("echo", false, "the target is the SDK echo server: no binding, no tally, replies must repeat the text")
	gomaxprocs := fs.Int("gomaxprocs", 0, "GOMAXPROCS of the generator (0: the Go default, or $GOMAXPROCS)")
	zone := fs.String("zone", "Asia/Shanghai", "the bot's time zone (time.zone): which month the tally check reads")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for one reply (WeChat waits 5s)")
	serveEchoAddr := fs.String("serve-echo", "", "run the SDK echo server on `ADDR` (e.g. 127.0.0.1:8090) until interrupted, instead of sending")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), usage, mixNames())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gridbot-load: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	// Environment fallbacks, read after parsing so that -help never prints a secret.
	envOr := func(v *string, name, def string) {
		if *v == "" {
			*v = os.Getenv(name)
		}
		if *v == "" {
			*v = def
		}
	}
	envOr(token, "GRIDBOT_API_TOKEN", "")
	envOr(wxToken, "GRIDBOT_WECHAT_TOKEN", "gridbot")
	envOr(aesKey, "GRIDBOT_WECHAT_ENCODING_AES_KEY", "")
	envOr(appID, "GRIDBOT_WECHAT_APP_ID", "")
	if !*aes {
		*aesKey = "" // plain mode unless asked: a bot with a key refuses plain requests, saying so
	} else if *aesKey == "" {
		fmt.Fprintln(stderr, "gridbot-load: -aes needs -aes-key (or $GRIDBOT_WECHAT_ENCODING_AES_KEY)")
		return 2
	}
	if *gomaxprocs > 0 {
		runtime.GOMAXPROCS(*gomaxprocs)
	}

	if *serveEchoAddr != "" {
		err := serveEcho(ctx, *serveEchoAddr, *wxToken, *appID, *aesKey, func(addr string) {
			fmt.Fprintf(stdout, "SDK echo server on http://%s/wechat (%s mode, GOMAXPROCS %d)\n", addr, modeName(*aesKey), runtime.GOMAXPROCS(0))
		})
		if err != nil {
			fmt.Fprintln(stderr, "gridbot-load:", err)
			return 2
		}
		return 0
	}

	loc, err := time.LoadLocation(*zone)
	if err != nil {
		fmt.Fprintf(stderr, "gridbot-load: -zone %q: %v\n", *zone, err)
		return 2
	}
	cfg := Config{
		Server: *server, APIToken: *token, WeChatToken: *wxToken, AESKey: *aesKey, AppID: *appID,
		Users: *users, Duration: *duration, Mix: *mix, Echo: *echo, Zone: loc, Timeout: *timeout,
		Progress: stderr,
	}
	target := "gridbot"
	if cfg.Echo {
		target = "SDK echo"
	}
	fmt.Fprintf(stdout, "gridbot-load: %d users, mix %s, %s mode, %s against %s (%s), GOMAXPROCS %d\n",
		cfg.Users, cfg.Mix, modeName(cfg.AESKey), cfg.Duration, cfg.Server, target, runtime.GOMAXPROCS(0))
	res, err := Run(ctx, cfg)
	if res != nil {
		printResult(stdout, cfg, res)
	}
	if err != nil {
		fmt.Fprintln(stderr, "gridbot-load:", err)
		return 2
	}
	if res.Failed() {
		return 1
	}
	return 0
}

func modeName(aesKey string) string {
	if aesKey != "" {
		return "safe"
	}
	return "plain"
}

// printResult writes the human report and the RESULT line.
func printResult(w io.Writer, cfg Config, r *Result) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(w, "messages  %d in %.2fs: %.1f msgs/s\n", r.Messages, r.Elapsed.Seconds(), r.Rate())
	fmt.Fprintf(w, "latency   p50 %s ms  p90 %s ms  p99 %s ms  max %s ms\n",
		ms(r.Quantile(0.50)), ms(r.Quantile(0.90)), ms(r.Quantile(0.99)), ms(r.Quantile(1)))
	fmt.Fprintf(w, "generator %.0f µs CPU per message, %.0f%% of a core busy (near 100%% × GOMAXPROCS: the generator, not the server, set the pace)\n",
		float64(r.CPU.Microseconds())/float64(max(r.Messages, 1)), 100*r.CPUShare())
	fmt.Fprintf(w, "replies   %d as expected, %d late (\"success\": answered by a push later), %d errors\n",
		r.OK, r.Late, r.errorCount())
	if len(r.Errors) > 0 {
		var kinds []string
		for _, k := range []string{errTransport, errTimeout, errStatus, errMalformed, errUnchecked} {
			if n := r.Errors[k]; n > 0 {
				kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
			}
		}
		fmt.Fprintf(w, "errors    %s\n", strings.Join(kinds, ", "))
		for _, s := range r.Samples {
			fmt.Fprintf(w, "          e.g. %s\n", s)
		}
	}
	tally := "-"
	switch {
	case cfg.Echo:
	case r.Skipped != "":
		tally = "skipped"
		fmt.Fprintf(w, "tally     not checked: %s\n", r.Skipped)
	case r.After == nil:
		tally = "unread"
	case len(r.Mismatch) > 0:
		tally = "MISMATCH"
		for _, m := range r.Mismatch {
			fmt.Fprintf(w, "tally     MISMATCH (all %s): %s\n", r.Period, m)
		}
	default:
		tally = "ok"
		var parts []string
		for _, k := range checkedMetrics {
			parts = append(parts, fmt.Sprintf("%s +%s", k, fmtNum(r.After[k]-r.Before[k])))
		}
		fmt.Fprintf(w, "tally     all %s agrees with the acknowledged reports: %s\n", r.Period, strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "RESULT msgs_per_s=%.1f p50_ms=%s p90_ms=%s p99_ms=%s messages=%d errors=%d late=%d tally=%s gen_cpu_pct=%.0f\n",
		r.Rate(), ms(r.Quantile(0.50)), ms(r.Quantile(0.90)), ms(r.Quantile(0.99)), r.Messages, r.errorCount(), r.Late, tally, 100*r.CPUShare())
}
