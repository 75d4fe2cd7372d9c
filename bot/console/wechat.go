package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount"
	"github.com/silenceper/wechat/v2/officialaccount/basic"

	"gridbot/flows"
)

// WeChat is what the console needs of the Official Account: web
// authorization (网页授权, snsapi_base) and temporary parametric QR codes.
type WeChat interface {
	// AuthorizeURL is where to send the browser to authorize; WeChat comes
	// back to redirectURI with ?code=…&state=state.
	AuthorizeURL(redirectURI, state string) string
	// OpenID trades an authorization code for the user's openid.
	OpenID(ctx context.Context, code string) (string, error)
	// CreateQR creates a temporary QR code carrying scene and returns its
	// content (the URL to encode in the picture).
	CreateQR(ctx context.Context, scene string, ttl time.Duration) (string, error)
}

// DefaultAuthorizeBase is the host of WeChat's web authorization page.
const DefaultAuthorizeBase = "https://open.weixin.qq.com"

// SDKWeChat is the real Official Account through the silenceper/wechat SDK
// (officialaccount/oauth and officialaccount/basic). API calls follow the
// SDK's API base (bot.NewOutbound sets it); the authorization page is a
// browser redirect the SDK's base does not touch, so its host is
// AuthorizeBase.
type SDKWeChat struct {
	OA            *officialaccount.OfficialAccount
	AuthorizeBase string // "" → DefaultAuthorizeBase; a fake platform in tests

	once sync.Once
	qr   *basic.Basic
}

// AuthorizeURL implements WeChat.
func (s *SDKWeChat) AuthorizeURL(redirectURI, state string) string {
	u, _ := s.OA.GetOauth().GetRedirectURL(redirectURI, "snsapi_base", state)
	if base := strings.TrimRight(s.AuthorizeBase, "/"); base != "" && base != DefaultAuthorizeBase {
		u = base + strings.TrimPrefix(u, DefaultAuthorizeBase)
	}
	return u
}

// OpenID implements WeChat.
func (s *SDKWeChat) OpenID(ctx context.Context, code string) (string, error) {
	tok, err := s.OA.GetOauth().GetUserAccessTokenContext(ctx, code)
	if err != nil {
		return "", scrub("web authorization", err)
	}
	if tok.OpenID == "" {
		return "", fmt.Errorf("web authorization: no openid in the answer")
	}
	return tok.OpenID, nil
}

// CreateQR implements WeChat with a QR_STR_SCENE code.
func (s *SDKWeChat) CreateQR(ctx context.Context, scene string, ttl time.Duration) (string, error) {
	s.once.Do(func() { s.qr = s.OA.GetBasic() })
	t, err := s.qr.GetQRTicket(basic.NewTmpQrRequest(ttl, scene))
	if err != nil {
		return "", scrub("qrcode/create", err)
	}
	if t.URL == "" {
		return "", fmt.Errorf("qrcode/create: no url in the answer")
	}
	return t.URL, nil
}

// secretRE finds credentials in the URLs the SDK puts in its errors
// ("http get error : uri=…?appid=…&secret=…").
var secretRE = regexp.MustCompile(`\b(secret|access_token|code|refresh_token)="?[^&\s,"]*"?`)

// scrub makes an SDK error safe to log: no app secret, access token or
// authorization code from the URL it may quote.
func scrub(op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %s: %v", op, ue.Op, ue.Err)
	}
	return errors.New(op + ": " + secretRE.ReplaceAllString(err.Error(), "$1=…"))
}

// LocalWeChat stands in for WeChat in local mode (no app_id): its
// authorization page, served by the console to this machine only, lets
// one pick a bound worker to be; its QR codes carry the scene as text
// ("gridbot-local:login_…"), to be "scanned" with `/scan SCENE` in
// `gridbot chat`.
type LocalWeChat struct {
	mu    sync.Mutex
	codes map[string]localCode
}

type localCode struct {
	openID  string
	expires time.Time
}

// AuthorizeURL implements WeChat: the console's local authorization page.
func (l *LocalWeChat) AuthorizeURL(redirectURI, state string) string {
	q := url.Values{"redirect_uri": {redirectURI}, "state": {state}}
	return "/console/local/authorize?" + q.Encode()
}

// OpenID implements WeChat: codes work once, for 5 minutes.
func (l *LocalWeChat) OpenID(_ context.Context, code string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.codes[code]
	delete(l.codes, code)
	if !ok || time.Now().After(c.expires) {
		return "", flows.Errorf(flows.EInvalid, "local web authorization: unknown or used code")
	}
	return c.openID, nil
}

// CreateQR implements WeChat.
func (l *LocalWeChat) CreateQR(_ context.Context, scene string, _ time.Duration) (string, error) {
	return "gridbot-local:" + scene, nil
}

func (l *LocalWeChat) issue(openID string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.codes == nil {
		l.codes = map[string]localCode{}
	}
	now := time.Now()
	for k, v := range l.codes {
		if now.After(v.expires) {
			delete(l.codes, k)
		}
	}
	code := randomAlnum(24)
	l.codes[code] = localCode{openID: openID, expires: now.Add(5 * time.Minute)}
	return code
}

// authorizePage lists the bound workers to log in as (local mode, from
// this machine only).
func (l *LocalWeChat) authorizePage(c *Console) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !loopback(r) {
			c.plainError(w, http.StatusForbidden, "本地模式只接受本机访问。")
			return
		}
		ws, err := c.Store.Workers(r.Context())
		if err != nil {
			c.plainError(w, http.StatusServiceUnavailable, "系统繁忙，请稍后再试。")
			return
		}
		q := r.URL.Query()
		c.render(w, r, http.StatusOK, "localauth", &page{Title: "本地模式：选择身份", Data: map[string]any{
			"Workers": ws, "Redirect": q.Get("redirect_uri"), "State": q.Get("state")}})
	}
}

// authorizePick issues a code for the picked worker and goes back to the
// console's callback, as WeChat would.
func (l *LocalWeChat) authorizePick(c *Console) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !loopback(r) {
			c.plainError(w, http.StatusForbidden, "本地模式只接受本机访问。")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		back, err := url.Parse(r.PostFormValue("redirect_uri"))
		if err != nil || back.Path != "/console/oauth/callback" {
			c.plainError(w, http.StatusBadRequest, "redirect_uri 不对。")
			return
		}
		q := url.Values{"code": {l.issue(r.PostFormValue("openid"))}, "state": {r.PostFormValue("state")}}
		http.Redirect(w, r, "/console/oauth/callback?"+q.Encode(), http.StatusSeeOther)
	}
}

// loopback reports whether a request comes from this machine.
func loopback(r *http.Request) bool {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	host = strings.Trim(host, "[]")
	return host == "127.0.0.1" || host == "::1" || strings.HasPrefix(host, "127.")
}
