package chat_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"gridbot/flows"
	"gridbot/flows/chat"
	"gridbot/storage"
)

// The conversation is tested with transcripts kept as data in
// testdata/*.txt, each run against a real bbolt store in a temp dir and
// with each session store: the bbolt KV and Redis (GRIDBOT_TEST_REDIS when
// set, else an in-process miniredis).
//
// Transcript lines:
//
//	# comment, blank lines ignored
//	@time 2026-11-28 09:00          clock (Asia/Shanghai): engine Now and message CreateTime
//	@advance 31m                    move the clock on (Go duration)
//	@worker <openid> <community> <grid> [role]   a bound worker
//	@invite <code> <community> <grid> <role> <expires 2006-01-02T15:04>
//	@as <openid>                    sender of the following messages (default w1)
//	@restart                        close and reopen the store and a new engine
//	@roster <community> <grid> <household> [tag,tag…]   a household on the roster (花名册)
//	@tally <scope> <period> k=v…    listed metrics of Store.Tally (0: absent)
//	@reports <openid> <n>           the worker has n reports (void ones too) this year
//	@report <openid> <i> k=v…       the worker's i-th report this year (1-based, -1 last):
//	                                flow kind day target next_due follow_key void
//	                                f.<field> c.<counter> images location ("~" is a space)
//	@due <scope> <until> [target@due…]  the open follow-ups due by until, exactly
//	@worker? <openid> k=v…          stored worker: community grid role unsubscribed name, or "unbound"
//	@nosession <openid>             nothing stored in the session store for openid
//	> text                          a text message
//	>voice text                     a voice message with that Recognition (may be empty)
//	>location lat lng label         a location message
//	>image url                      an image message
//	>type video                     a message of another type
//	>event subscribe|unsubscribe|LOCATION|…
//	>click KEY                      a menu click
//	>again                          the previous message delivered again (same MsgId)
//
// Each message is followed by what the reply must be:
//
//	< line                          consecutive "<" lines: the whole reply, exactly
//	<~ text                         the reply contains text
//	<^ text                         the reply starts with text
//	<!                              no reply
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, kv := range []string{"bbolt", "redis"} {
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".txt")
			t.Run(kv+"/"+name, func(t *testing.T) {
				t.Parallel()
				steps := parseTranscript(t, file)
				h := newHarness(t, kv)
				for _, st := range steps {
					h.run(st)
				}
			})
		}
	}
}

// step is one line of a transcript with the expectations that follow it.
type step struct {
	file   string
	line   int
	text   string // the line itself
	expect []string
}

func (s step) where() string { return fmt.Sprintf("%s:%d", s.file, s.line) }

func parseTranscript(t *testing.T, file string) []step {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []step
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), " \t\r")
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "<"):
			if len(steps) == 0 || !strings.HasPrefix(steps[len(steps)-1].text, ">") {
				t.Fatalf("%s:%d: a reply line must follow a message", file, n)
			}
			steps[len(steps)-1].expect = append(steps[len(steps)-1].expect, line)
		default:
			steps = append(steps, step{file: filepath.Base(file), line: n, text: line})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if strings.HasPrefix(s.text, ">") && len(s.expect) == 0 {
			t.Fatalf("%s: a message without expected reply", s.where())
		}
	}
	return steps
}

// harness is one transcript's world: the store, the session store, the
// clock and the engine.
type harness struct {
	t      *testing.T
	kv     string
	path   string
	db     *storage.DB
	rdb    *redis.Client
	prefix string
	zone   *time.Location
	clock  time.Time
	eng    *chat.Engine
	openID string
	seq    int
	last   flows.Inbound
}

var shanghai = func() *time.Location {
	z, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return z
}()

func newHarness(t *testing.T, kv string) *harness {
	h := &harness{
		t: t, kv: kv, zone: shanghai, openID: "w1",
		path:   filepath.Join(t.TempDir(), "gridbot.db"),
		prefix: "gridbot-test:" + randHex() + ":session:",
		clock:  time.Date(2026, 11, 28, 9, 0, 0, 0, shanghai),
	}
	if kv == "redis" {
		h.rdb = testRedis(t)
		t.Cleanup(func() { // leave nothing behind in a shared Redis
			ctx := context.Background()
			keys, _ := h.rdb.Keys(ctx, h.prefix+"*").Result()
			if len(keys) > 0 {
				h.rdb.Del(ctx, keys...)
			}
		})
	}
	h.open()
	t.Cleanup(func() {
		if h.db != nil {
			h.db.Close()
		}
	})
	return h
}

// testRedis connects to GRIDBOT_TEST_REDIS when set (CI), else starts an
// in-process miniredis.
func testRedis(t *testing.T) *redis.Client {
	addr := os.Getenv("GRIDBOT_TEST_REDIS")
	if addr == "" {
		addr = miniredis.RunT(t).Addr()
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func randHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// open opens the store and builds a new engine, as a restarted bot would.
func (h *harness) open() {
	db, err := storage.Open(h.path, storage.Options{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.db = db
	var kv flows.KV = db.KV()
	if h.kv == "redis" {
		kv = storage.NewRedisKV(h.rdb)
	}
	h.eng = &chat.Engine{
		Store: db, Sessions: kv, Notices: db, Attempts: db, Catalog: flows.DefaultCatalog(), Zone: h.zone,
		SessionPrefix: h.prefix, SessionTTL: 30 * time.Minute,
		Now: func() time.Time { return h.clock },
	}
}

func (h *harness) fail(s step, format string, args ...any) {
	h.t.Helper()
	h.t.Fatalf("%s: %s\n  %s", s.where(), s.text, fmt.Sprintf(format, args...))
}

func (h *harness) run(s step) {
	h.t.Helper()
	ctx := context.Background()
	cmd, arg, _ := strings.Cut(s.text, " ")
	args := strings.Fields(arg)
	if strings.HasPrefix(cmd, ">") {
		in, ok := h.inbound(cmd, arg)
		if !ok {
			h.fail(s, "unknown message kind %q", cmd)
		}
		reply, err := h.eng.Handle(ctx, in)
		if err != nil {
			h.fail(s, "Handle: %v", err)
		}
		h.check(s, reply.Text)
		return
	}
	switch cmd {
	case "@time":
		c, err := time.ParseInLocation("2006-01-02 15:04", arg, h.zone)
		if err != nil {
			h.fail(s, "%v", err)
		}
		h.clock = c
	case "@advance":
		d, err := time.ParseDuration(arg)
		if err != nil {
			h.fail(s, "%v", err)
		}
		h.clock = h.clock.Add(d)
	case "@as":
		h.openID = arg
	case "@worker":
		if len(args) < 3 {
			h.fail(s, "want @worker openid community grid [role]")
		}
		role := flows.RoleWorker
		if len(args) > 3 {
			role = flows.Role(args[3])
		}
		w := flows.Worker{OpenID: args[0], Name: args[0], Community: args[1], Grid: args[2], Role: role, BoundAt: h.clock}
		if err := h.db.PutWorker(ctx, w); err != nil {
			h.fail(s, "%v", err)
		}
	case "@invite":
		if len(args) != 5 {
			h.fail(s, "want @invite code community grid role expires")
		}
		exp, err := time.ParseInLocation("2006-01-02T15:04", args[4], h.zone)
		if err != nil {
			h.fail(s, "%v", err)
		}
		inv := flows.Invite{Code: args[0], Community: args[1], Grid: args[2], Role: flows.Role(args[3]), ExpiresAt: exp}
		if err := h.db.CreateInvite(ctx, inv); err != nil {
			h.fail(s, "%v", err)
		}
	case "@restart":
		if err := h.db.Close(); err != nil {
			h.fail(s, "%v", err)
		}
		h.db = nil
		h.open()
	case "@roster":
		if len(args) < 3 || len(args) > 4 {
			h.fail(s, "want @roster community grid household [tag,tag…]")
		}
		hh := flows.Household{Community: args[0], Grid: args[1], Household: args[2]}
		if len(args) == 4 {
			hh.Tags = strings.Split(args[3], ",")
		}
		if _, err := h.db.PutHouseholds(ctx, []flows.Household{hh}); err != nil {
			h.fail(s, "%v", err)
		}
	case "@tally":
		h.checkTally(s, args)
	case "@reports":
		if len(args) != 2 {
			h.fail(s, "want @reports openid n")
		}
		if got, want := len(h.reports(s, args[0])), atoi(h, s, args[1]); got != want {
			h.fail(s, "got %d reports, want %d", got, want)
		}
	case "@report":
		h.checkReport(s, args)
	case "@due":
		h.checkDue(s, args)
	case "@worker?":
		h.checkWorker(s, args)
	case "@nosession":
		if _, err := h.eng.Sessions.Get(ctx, h.prefix+arg); flows.ErrorCode(err) != flows.ENotFound {
			h.fail(s, "session of %s: err %v, want not found", arg, err)
		}
	default:
		h.fail(s, "unknown directive %q", cmd)
	}
}

// inbound builds the message a transcript line sends.
func (h *harness) inbound(cmd, arg string) (flows.Inbound, bool) {
	if cmd == ">again" {
		return h.last, true
	}
	h.seq++
	in := flows.Inbound{
		MsgKey: strconv.Itoa(1000 + h.seq), OpenID: h.openID, At: h.clock,
	}
	switch cmd {
	case ">":
		in.Type, in.Text = "text", arg
	case ">voice":
		in.Type, in.Text, in.MediaID = "voice", arg, "media-"+in.MsgKey
	case ">location":
		f := strings.Fields(arg)
		lat, _ := strconv.ParseFloat(f[0], 64)
		lng, _ := strconv.ParseFloat(f[1], 64)
		in.Type = "location"
		in.Location = &flows.Location{Lat: lat, Lng: lng, Label: strings.Join(f[2:], " ")}
	case ">image":
		in.Type, in.PicURL, in.MediaID = "image", arg, "media-"+in.MsgKey
	case ">type":
		in.Type = arg
	case ">event", ">click":
		in.Type, in.Event = "event", arg
		if cmd == ">click" {
			in.Event, in.EventKey = "CLICK", arg
		}
		in.MsgKey = h.openID + ":" + strconv.FormatInt(h.clock.Unix(), 10) + ":" + in.Event
	default:
		return in, false
	}
	h.last = in
	return in, true
}

// check compares a reply with the step's expectations.
func (h *harness) check(s step, got string) {
	h.t.Helper()
	var exact []string
	hasExact := false
	for _, e := range s.expect {
		switch {
		case e == "<!":
			if got != "" {
				h.fail(s, "want no reply, got:\n%s", got)
			}
		case strings.HasPrefix(e, "<~ "):
			if !strings.Contains(got, e[3:]) {
				h.fail(s, "reply does not contain %q; got:\n%s", e[3:], got)
			}
		case strings.HasPrefix(e, "<^ "):
			if !strings.HasPrefix(got, e[3:]) {
				h.fail(s, "reply does not start with %q; got:\n%s", e[3:], got)
			}
		case e == "<" || strings.HasPrefix(e, "< "):
			hasExact = true
			exact = append(exact, strings.TrimPrefix(strings.TrimPrefix(e, "<"), " "))
		default:
			h.fail(s, "unknown expectation %q", e)
		}
	}
	if hasExact {
		if want := strings.Join(exact, "\n"); got != want {
			h.fail(s, "reply differs\n got: %q\nwant: %q", got, want)
		}
	}
	if len(got) > chat.MaxReplyBytes {
		h.fail(s, "reply of %d bytes is over WeChat's limit", len(got))
	}
}

func atoi(h *harness, s step, v string) int {
	n, err := strconv.Atoi(v)
	if err != nil {
		h.fail(s, "%v", err)
	}
	return n
}

func (h *harness) checkTally(s step, args []string) {
	if len(args) < 3 {
		h.fail(s, "want @tally scope period k=v…")
	}
	scope, err := flows.ParseScope(args[0])
	if err != nil {
		h.fail(s, "%v", err)
	}
	got, err := h.db.Tally(context.Background(), scope, args[1])
	if err != nil {
		h.fail(s, "Tally: %v", err)
	}
	for _, kv := range args[2:] {
		k, v, _ := strings.Cut(kv, "=")
		want, err := strconv.ParseFloat(v, 64)
		if err != nil {
			h.fail(s, "%v", err)
		}
		if got[k] != want {
			h.fail(s, "tally %s = %v, want %v (all: %v)", k, got[k], want, got)
		}
	}
}

// reports lists a worker's reports of the clock's year, void ones too, in
// the order they were saved.
func (h *harness) reports(s step, openID string) []flows.Report {
	var out []flows.Report
	scope := flows.Scope{Kind: flows.ScopeWorker, ID: openID}
	err := h.db.Reports(context.Background(), scope, h.clock.Format("2006"), true, func(r flows.Report) error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		h.fail(s, "Reports: %v", err)
	}
	slices.SortFunc(out, func(a, b flows.Report) int { return int(a.ID) - int(b.ID) })
	return out
}

func (h *harness) checkReport(s step, args []string) {
	if len(args) < 3 {
		h.fail(s, "want @report openid i k=v…")
	}
	rs := h.reports(s, args[0])
	i := atoi(h, s, args[1])
	if i < 0 {
		i += len(rs) + 1
	}
	if i < 1 || i > len(rs) {
		h.fail(s, "no report %s of %d", args[1], len(rs))
	}
	r := rs[i-1]
	for _, kv := range args[2:] {
		k, want, _ := strings.Cut(kv, "=")
		var got string
		switch {
		case k == "flow":
			got = r.Flow
		case k == "kind":
			got = r.Kind
		case k == "day":
			got = r.Day
		case k == "target":
			got = r.Target
		case k == "next_due":
			got = r.NextDue
		case k == "follow_key":
			got = r.FollowKey
		case k == "void":
			got = strconv.FormatBool(r.Void)
		case k == "msg_key":
			got = r.MsgKey
		case k == "images":
			got = strconv.Itoa(len(r.Images))
		case k == "location":
			if r.Location != nil {
				got = r.Location.Label
			}
		case strings.HasPrefix(k, "f."):
			got = r.Fields[k[2:]]
		case strings.HasPrefix(k, "c."):
			if v, ok := r.Counts[k[2:]]; ok {
				got = strconv.FormatFloat(v, 'f', -1, 64)
			}
		default:
			h.fail(s, "unknown report key %q", k)
		}
		want = strings.ReplaceAll(want, "~", " ")
		if got != want {
			h.fail(s, "report %s = %q, want %q (%+v)", k, got, want, r)
		}
	}
}

func (h *harness) checkDue(s step, args []string) {
	if len(args) < 2 {
		h.fail(s, "want @due scope until [target@due…]")
	}
	scope, err := flows.ParseScope(args[0])
	if err != nil {
		h.fail(s, "%v", err)
	}
	fs, err := h.db.DueFollowUps(context.Background(), scope, args[1], 0)
	if err != nil {
		h.fail(s, "DueFollowUps: %v", err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Target+"@"+f.Due)
	}
	if want := args[2:]; !slices.Equal(got, want) {
		h.fail(s, "due follow-ups %v, want %v", got, want)
	}
}

func (h *harness) checkWorker(s step, args []string) {
	if len(args) < 2 {
		h.fail(s, "want @worker? openid k=v… | unbound")
	}
	w, err := h.db.Worker(context.Background(), args[0])
	if args[1] == "unbound" {
		if flows.ErrorCode(err) != flows.ENotFound {
			h.fail(s, "worker %s: err %v, want not found", args[0], err)
		}
		return
	}
	if err != nil {
		h.fail(s, "worker %s: %v", args[0], err)
	}
	for _, kv := range args[1:] {
		k, want, _ := strings.Cut(kv, "=")
		var got string
		switch k {
		case "community":
			got = w.Community
		case "grid":
			got = w.Grid
		case "role":
			got = string(w.Role)
		case "unsubscribed":
			got = strconv.FormatBool(w.Unsubscribed)
		case "name":
			got = w.Name
		default:
			h.fail(s, "unknown worker key %q", k)
		}
		if got != want {
			h.fail(s, "worker %s = %q, want %q", k, got, want)
		}
	}
}
