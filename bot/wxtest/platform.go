// Package wxtest fakes WeChat for tests: Platform is a fake WeChat API
// server (token, customer-service and template messages, menu) that
// records what it receives and fails on demand; Client (package wxclient)
// builds signed inbound webhook requests; SDKEcho is the SDK's own server,
// the benchmarks' baseline. It imports net/http/httptest: never link it
// into the binary.
package wxtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Paths the Platform serves, under its URL as the API base.
const (
	PathToken        = "/cgi-bin/token"
	PathStableToken  = "/cgi-bin/stable_token"
	PathCustomSend   = "/cgi-bin/message/custom/send"
	PathTemplateSend = "/cgi-bin/message/template/send"
	PathMenuCreate   = "/cgi-bin/menu/create"
	PathQRCreate     = "/cgi-bin/qrcode/create"
	// PathAuthorize is the browser-facing web authorization page (on
	// open.weixin.qq.com in WeChat); the Platform's URL serves it too, so
	// it is also the authorize base to configure.
	PathAuthorize     = "/connect/oauth2/authorize"
	PathOAuthExchange = "/sns/oauth2/access_token"
)

// errmsgs are WeChat's messages for the codes tests use.
var errmsgs = map[int]string{
	-1:    "system error",
	40001: "invalid credential, access_token is invalid or not latest",
	40013: "invalid appid",
	40014: "invalid access_token",
	40029: "invalid code",
	40163: "code been used",
	40125: "invalid appsecret",
	42001: "access_token expired",
	43004: "require subscribe",
	45009: "reach max api daily quota limit",
	45015: "response out of time limit or subscription is canceled",
	45047: "out of response count limit",
}

// Cleaner is what NewPlatform needs of a *testing.T (or B): Cleanup.
type Cleaner interface{ Cleanup(func()) }

// Platform is a fake WeChat API on an httptest.Server. It issues access
// tokens (each fetch a new one; earlier ones stay valid until
// InvalidateTokens), refuses calls with an unknown token (40001), accepts
// customer-service, template and menu calls and records them, and can be
// told to fail the next calls to a path with an errcode.
type Platform struct {
	// URL is the API base to give the client (OutboundConfig.APIBase).
	URL string
	// AppID and AppSecret, when set, are the credentials token fetches
	// must carry (40013 / 40125 otherwise).
	AppID, AppSecret string

	srv *httptest.Server

	mu        sync.Mutex
	tokenSeq  int
	valid     map[string]bool
	fetches   int
	calls     map[string]int
	failures  map[string][]Fault // path → faults of the next calls
	custom    []CustomMessage
	templates []TemplateMessage
	menus     []json.RawMessage
	changed   chan struct{} // closed and replaced on every recorded message

	oauthUser string            // the openid of the user "in WeChat's browser"
	codeSeq   int               // OAuth codes issued
	codes     map[string]string // unused OAuth code → openid
	usedCodes map[string]bool
	qrs       []QRCode
}

// QRCode is a parametric QR code the platform issued (qrcode/create).
type QRCode struct {
	Scene         string // scene_str, or scene_id as decimal
	Action        string // QR_STR_SCENE, QR_SCENE, QR_LIMIT_STR_SCENE, ...
	ExpireSeconds int
	Ticket        string
	URL           string // the code's content, as WeChat answers it
}

// CustomMessage is a customer-service message the platform received.
type CustomMessage struct {
	ToUser  string `json:"touser"`
	MsgType string `json:"msgtype"`
	Text    string `json:"-"` // text.content
	Raw     json.RawMessage
}

// TemplateMessage is a template message the platform received.
type TemplateMessage struct {
	ToUser     string
	TemplateID string
	URL        string
	Data       map[string]string // keyword → value
	Raw        json.RawMessage
}

// NewPlatform starts a fake platform. With t, it is closed when the test
// ends; with nil, call Close.
func NewPlatform(t Cleaner) *Platform {
	p := &Platform{
		valid:     make(map[string]bool),
		calls:     make(map[string]int),
		failures:  make(map[string][]Fault),
		changed:   make(chan struct{}),
		codes:     make(map[string]string),
		usedCodes: make(map[string]bool),
	}
	mux := http.NewServeMux()
	mux.HandleFunc(PathToken, p.token)
	mux.HandleFunc(PathStableToken, p.token)
	mux.HandleFunc(PathCustomSend, p.customSend)
	mux.HandleFunc(PathTemplateSend, p.templateSend)
	mux.HandleFunc(PathMenuCreate, p.menuCreate)
	mux.HandleFunc(PathQRCreate, p.qrCreate)
	mux.HandleFunc(PathAuthorize, p.authorize)
	mux.HandleFunc(PathOAuthExchange, p.oauthExchange)
	p.srv = httptest.NewServer(mux)
	p.URL = p.srv.URL
	if t != nil {
		t.Cleanup(p.Close)
	}
	return p
}

// Close stops the server.
func (p *Platform) Close() { p.srv.Close() }

// Fault is one way a call can fail; set one field. The zero Fault lets
// the call through (Fail(path, n, 0) lets n calls pass before the next).
type Fault struct {
	Errcode int           // answer {"errcode": Errcode}
	Status  int           // answer this HTTP status (e.g. 502) with an HTML body
	Delay   time.Duration // wait this long first (the client's timeout fires)
	BadJSON bool          // answer 200 with a body that is not JSON
}

// Fail makes the next n calls to path answer errcode.
func (p *Platform) Fail(path string, n, errcode int) {
	p.Inject(path, n, Fault{Errcode: errcode})
}

// Inject makes the next n calls to path fail with f.
func (p *Platform) Inject(path string, n int, f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.failures[path] = append(p.failures[path], f)
	}
}

// InvalidateTokens makes every token issued so far invalid, as when another
// server fetched a new one: the next call with one gets 40001.
func (p *Platform) InvalidateTokens() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.valid)
}

// TokenFetches counts access-token fetches (plain and stable).
func (p *Platform) TokenFetches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fetches
}

// Calls counts the calls to path, failed ones included.
func (p *Platform) Calls(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[path]
}

// CustomMessages returns the customer-service messages accepted so far.
func (p *Platform) CustomMessages() []CustomMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]CustomMessage(nil), p.custom...)
}

// TemplateMessages returns the template messages accepted so far.
func (p *Platform) TemplateMessages() []TemplateMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]TemplateMessage(nil), p.templates...)
}

// Menus returns the bodies of accepted menu/create calls.
func (p *Platform) Menus() []json.RawMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]json.RawMessage(nil), p.menus...)
}

// WaitCustom waits until at least n customer-service messages were
// accepted, or timeout, and returns those accepted.
func (p *Platform) WaitCustom(n int, timeout time.Duration) []CustomMessage {
	p.wait(timeout, func() bool { return len(p.custom) >= n })
	return p.CustomMessages()
}

// WaitTemplates waits until at least n template messages were accepted, or
// timeout, and returns those accepted.
func (p *Platform) WaitTemplates(n int, timeout time.Duration) []TemplateMessage {
	p.wait(timeout, func() bool { return len(p.templates) >= n })
	return p.TemplateMessages()
}

// wait blocks until cond (called with p.mu held) holds or timeout passes.
func (p *Platform) wait(timeout time.Duration, cond func() bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		ok, ch := cond(), p.changed
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			return
		}
	}
}

// begin counts a call and answers an injected fault; it returns false
// when it has answered. p.mu must be held; it is released during a Delay.
func (p *Platform) begin(w http.ResponseWriter, path string) bool {
	p.calls[path]++
	q := p.failures[path]
	if len(q) == 0 {
		return true
	}
	f := q[0]
	p.failures[path] = q[1:]
	switch {
	case f == Fault{}:
		return true
	case f.Delay > 0:
		p.mu.Unlock()
		time.Sleep(f.Delay)
		p.mu.Lock()
		w.WriteHeader(http.StatusGatewayTimeout)
	case f.Status != 0:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		io.WriteString(w, "<html><body>Bad Gateway</body></html>")
	case f.BadJSON:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"errcode": 0, "access_token": `)
	default:
		writeErr(w, f.Errcode)
	}
	return false
}

// notify wakes waiters. p.mu must be held.
func (p *Platform) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Platform) token(w http.ResponseWriter, r *http.Request) {
	appID, secret := r.URL.Query().Get("appid"), r.URL.Query().Get("secret")
	if r.URL.Path == PathStableToken {
		var req struct {
			AppID  string `json:"appid"`
			Secret string `json:"secret"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeErr(w, 47001) // data format error
			return
		}
		appID, secret = req.AppID, req.Secret
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.begin(w, r.URL.Path) {
		return
	}
	switch {
	case p.AppID != "" && appID != p.AppID:
		writeErr(w, 40013)
		return
	case p.AppSecret != "" && secret != p.AppSecret:
		writeErr(w, 40125)
		return
	}
	p.fetches++
	p.tokenSeq++
	tok := fmt.Sprintf("TOKEN-%d", p.tokenSeq)
	p.valid[tok] = true
	writeJSON(w, map[string]any{"access_token": tok, "expires_in": 7200})
}

// authorized counts the call and answers an injected failure or an
// unknown token; it returns false when it has answered. p.mu must be held.
func (p *Platform) authorized(w http.ResponseWriter, r *http.Request) bool {
	if !p.begin(w, r.URL.Path) {
		return false
	}
	if !p.valid[r.URL.Query().Get("access_token")] {
		writeErr(w, 40001)
		return false
	}
	return true
}

func (p *Platform) customSend(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var body struct {
		ToUser  string `json:"touser"`
		MsgType string `json:"msgtype"`
		Text    struct {
			Content string `json:"content"`
		} `json:"text"`
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.authorized(w, r) {
		return
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.ToUser == "" || body.MsgType == "" {
		writeErr(w, 47001)
		return
	}
	p.custom = append(p.custom, CustomMessage{ToUser: body.ToUser, MsgType: body.MsgType, Text: body.Text.Content, Raw: raw})
	p.notify()
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok"})
}

func (p *Platform) templateSend(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var body struct {
		ToUser     string `json:"touser"`
		TemplateID string `json:"template_id"`
		URL        string `json:"url"`
		Data       map[string]struct {
			Value string `json:"value"`
		} `json:"data"`
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.authorized(w, r) {
		return
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.ToUser == "" || body.TemplateID == "" {
		writeErr(w, 47001)
		return
	}
	m := TemplateMessage{ToUser: body.ToUser, TemplateID: body.TemplateID, URL: body.URL, Data: map[string]string{}, Raw: raw}
	for k, v := range body.Data {
		m.Data[k] = v.Value
	}
	p.templates = append(p.templates, m)
	p.notify()
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "msgid": 1000 + len(p.templates)})
}

func (p *Platform) menuCreate(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.authorized(w, r) {
		return
	}
	if !json.Valid(raw) {
		writeErr(w, 47001)
		return
	}
	p.menus = append(p.menus, raw)
	p.notify()
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok"})
}

func writeErr(w http.ResponseWriter, code int) {
	msg, ok := errmsgs[code]
	if !ok {
		msg = "error"
	}
	writeJSON(w, map[string]any{"errcode": code, "errmsg": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	json.NewEncoder(w).Encode(v)
}
