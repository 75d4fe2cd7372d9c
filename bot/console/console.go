// Package console is the supervisors' web console (后台) that `gridbot
// serve` serves under /console/: a dashboard (概览), the reports (记录),
// follow-ups (待办/逾期), workers and invites (人员) and the ledgers and
// annual summary (台帐与总结), as server-rendered pages in Simplified
// Chinese, mobile first, with every asset embedded in the binary.
//
// People get in through WeChat: web authorization (snsapi_base) inside
// WeChat's browser, a parametric QR code scanned from a PC's login page, or
// a one-time link the bot answers to "后台" in chat. The role of the bound
// worker decides the scope: a worker sees their own figures and 待办, a
// supervisor their community, an admin everything.
//
// Figures come from the store's tallies (Store.Tally), the same ones the
// admin API answers, so a page and /api/v1/tallies always agree.
//
// console imports flows and bot (for the ledger writer, invite codes and the
// chat Handler it wraps); nothing in bot, flows or storage imports it.
package console

import (
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gridbot/flows"
)

// Prefix is the path under which the console is served.
const Prefix = "/console/"

// Defaults of Console.
const (
	DefaultSessionIdle = 12 * time.Hour
	DefaultLinkTTL     = 10 * time.Minute
	DefaultQRTTL       = 5 * time.Minute
	DefaultKeyPrefix   = "gridbot:console:"
)

// LedgerWriter writes a ledger download; *bot.API is one.
type LedgerWriter interface {
	WriteLedger(w http.ResponseWriter, r *http.Request, scope flows.Scope, period, format string, includeVoid bool)
}

// Console serves /console/. Fill in the fields and mount it at Prefix; it
// is safe for concurrent use once serving.
type Console struct {
	Store   flows.Store    // required
	KV      flows.KV       // sessions, login codes and one-time links; required
	WeChat  WeChat         // web authorization and QR codes; required (LocalWeChat in local mode)
	Ledger  LedgerWriter   // the admin API's ledger writer; required
	Catalog *flows.Catalog // nil: flows.DefaultCatalog()
	Zone    *time.Location // nil: Asia/Shanghai
	// BaseURL is the public URL of the server ("https://bot.example.com"),
	// used in the links the bot sends in chat and as the web authorization's
	// redirect. Empty: taken from each request's Host (fine locally).
	BaseURL   string
	KeyPrefix string // KV key prefix; "" → DefaultKeyPrefix
	Log       *slog.Logger
	Now       func() time.Time

	SessionIdle time.Duration // 0: DefaultSessionIdle
	LinkTTL     time.Duration // 0: DefaultLinkTTL
	QRTTL       time.Duration // 0: DefaultQRTTL

	once  sync.Once
	mux   *http.ServeMux
	pages map[string]*template.Template
	base  atomic.Pointer[string] // SetBaseURL's value
	// linkMu makes taking a one-time link (read, then delete) atomic in
	// this process, the only one serving the store.
	linkMu sync.Mutex
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// ServeHTTP routes a request under /console/.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.once.Do(c.init)
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	gw := gzipWriter(w, r)
	c.mux.ServeHTTP(gw, r)
	if g, ok := gw.(*gzResponse); ok {
		g.finish()
	}
}

func (c *Console) init() {
	c.pages = parsePages(c.zone())
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /console/static/", cacheForever(http.StripPrefix("/console/static/", http.FileServerFS(static))))

	// Ways in (auth.go); reachable without a session.
	mux.HandleFunc("GET /console/login", c.loginPage)
	mux.HandleFunc("GET /console/login/poll", c.loginPoll)
	mux.HandleFunc("GET /console/login/oauth", c.oauthStart)
	mux.HandleFunc("GET /console/oauth/callback", c.oauthCallback)
	mux.HandleFunc("GET /console/link/{token}", c.linkLogin)
	if l, ok := c.WeChat.(*LocalWeChat); ok {
		mux.HandleFunc("GET /console/local/authorize", l.authorizePage(c))
		mux.HandleFunc("POST /console/local/authorize", l.authorizePick(c))
	}

	// Pages; every one needs a session (c.auth), some a supervisor.
	mux.Handle("GET /console/{$}", c.auth(anyone, c.dashboard))
	mux.Handle("GET /console/records", c.auth(anyone, c.records))
	mux.Handle("GET /console/records/{id}", c.auth(anyone, c.record))
	mux.Handle("POST /console/records/{id}/void", c.auth(supervisors, c.voidRecord))
	mux.Handle("GET /console/todo", c.auth(anyone, c.todo))
	mux.Handle("POST /console/todo/{id}/move", c.auth(supervisors, c.moveFollowUp))
	mux.Handle("POST /console/todo/{id}/close", c.auth(supervisors, c.closeFollowUp))
	mux.Handle("GET /console/people", c.auth(supervisors, c.people))
	mux.Handle("POST /console/people/invite", c.auth(supervisors, c.createInvite))
	mux.Handle("GET /console/people/invite/{code}", c.auth(supervisors, c.invitePage))
	mux.Handle("GET /console/ledger", c.auth(supervisors, c.ledger))
	mux.Handle("GET /console/ledger/download", c.auth(supervisors, c.ledgerDownload))
	mux.Handle("POST /console/logout", c.auth(anyone, c.logout))
	mux.Handle("/console/", c.auth(anyone, func(w http.ResponseWriter, r *http.Request, s *session) {
		c.fail(w, r, s, http.StatusNotFound, "页面不存在。")
	}))
	c.mux = mux
}

// SetBaseURL replaces BaseURL while serving: `gridbot serve` without a
// configured base_url learns its own address only once it listens.
func (c *Console) SetBaseURL(u string) { c.base.Store(&u) }

// publicBase is the server's public URL, "" when unknown.
func (c *Console) publicBase() string {
	if p := c.base.Load(); p != nil {
		return strings.TrimRight(*p, "/")
	}
	return strings.TrimRight(c.BaseURL, "/")
}

func (c *Console) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Console) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

func (c *Console) zone() *time.Location {
	if c.Zone != nil {
		return c.Zone
	}
	if z, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return z
	}
	return time.Local
}

var defaultCatalog = sync.OnceValue(flows.DefaultCatalog)

func (c *Console) cat() *flows.Catalog {
	if c.Catalog != nil {
		return c.Catalog
	}
	return defaultCatalog()
}

func (c *Console) key(parts ...string) string {
	p := c.KeyPrefix
	if p == "" {
		p = DefaultKeyPrefix
	}
	return p + strings.Join(parts, ":")
}

func durationOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// today is the local date, "2006-01-02".
func (c *Console) today() string { return c.now().In(c.zone()).Format(time.DateOnly) }

// randomToken is n random bytes in URL-safe base64 without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// randomAlnum is n random characters of [a-zA-Z0-9]: WeChat's state and
// QR scenes allow no others.
func randomAlnum(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)] // 256 % 62 bias is harmless for a nonce
	}
	return string(b)
}

// roleName is a role in Chinese.
func roleName(r flows.Role) string {
	switch r {
	case flows.RoleSupervisor:
		return "社区负责人"
	case flows.RoleAdmin:
		return "管理员"
	}
	return "网格员"
}

// errNotAllowed is a request outside the user's scope.
var errNotAllowed = errors.New("console: outside the user's scope")

// codeOf is the flows error code of err ("" for nil).
func codeOf(err error) string { return flows.ErrorCode(err) }
