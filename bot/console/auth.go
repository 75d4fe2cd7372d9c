package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"gridbot/flows"
)

// Cookies of the console. The session cookie holds a random token; the
// store keeps only its SHA-256, so a leaked KV dump opens no session.
const (
	sessionCookie = "gb_session"
	loginCookie   = "gb_login" // the QR login this browser waits for
	oauthCookie   = "gb_oauth" // state of a web authorization under way
)

// session is a logged-in browser, stored as JSON in the KV.
type session struct {
	OpenID string    `json:"openid"`
	CSRF   string    `json:"csrf"`
	Seen   time.Time `json:"seen"` // last refresh of the idle expiry
	Via    string    `json:"via"`  // oauth, qr, link

	id string       // KV key
	me flows.Worker // read fresh on every request: a role change applies at once
}

// sup reports whether the user sees a community (or everything).
func (s *session) sup() bool {
	return s.me.Role == flows.RoleSupervisor || s.me.Role == flows.RoleAdmin
}

func (s *session) admin() bool { return s.me.Role == flows.RoleAdmin }

// Who may open a page.
type access int

const (
	anyone      access = iota // every bound worker with a session
	supervisors               // supervisors and admins
)

// sessionHandler is a page handler given the request's session.
type sessionHandler func(w http.ResponseWriter, r *http.Request, s *session)

// auth wraps a page: without a valid session it sends the browser to log
// in (inside WeChat straight into web authorization); a state-changing
// request must carry the session's CSRF token; a worker gets 403 on a
// supervisor page.
func (c *Console) auth(who access, h sessionHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.loadSession(w, r)
		if s == nil {
			if r.Method != http.MethodGet {
				c.plainError(w, http.StatusUnauthorized, "登录已过期，请重新登录。")
				return
			}
			next := url.QueryEscape(r.URL.RequestURI())
			if strings.Contains(r.UserAgent(), "MicroMessenger") && !c.isLocal() {
				http.Redirect(w, r, "/console/login/oauth?next="+next, http.StatusFound)
				return
			}
			http.Redirect(w, r, "/console/login?next="+next, http.StatusFound)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			got := r.PostFormValue("csrf")
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
				c.log().Warn("console: request without a valid CSRF token refused", "path", r.URL.Path, "actor", s.OpenID)
				c.fail(w, r, s, http.StatusForbidden, "页面已过期，请刷新后再试。")
				return
			}
		}
		if who == supervisors && !s.sup() {
			c.fail(w, r, s, http.StatusForbidden, "这一页仅供社区负责人查看。")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, s)
	})
}

// loadSession returns the request's session, refreshing its idle expiry,
// or nil. A session of a worker no longer bound is ended.
func (c *Console) loadSession(w http.ResponseWriter, r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return nil
	}
	id := c.key("sess", hashToken(ck.Value))
	b, err := c.KV.Get(r.Context(), id)
	if err != nil {
		if codeOf(err) != flows.ENotFound {
			c.log().Error("console: session read failed", "err", err)
		}
		return nil
	}
	var s session
	if json.Unmarshal(b, &s) != nil || s.OpenID == "" {
		return nil
	}
	s.id = id
	idle := durationOr(c.SessionIdle, DefaultSessionIdle)
	if c.now().Sub(s.Seen) > idle {
		// The KV's TTL ends it too; this holds on any clock.
		c.KV.Delete(r.Context(), id)
		return nil
	}
	s.me, err = c.Store.Worker(r.Context(), s.OpenID)
	if err != nil {
		if codeOf(err) == flows.ENotFound {
			c.KV.Delete(r.Context(), id)
		} else {
			c.log().Error("console: worker read failed", "err", err)
		}
		return nil
	}
	if now := c.now(); now.Sub(s.Seen) > time.Minute {
		s.Seen = now
		c.saveSession(r, &s, idle)
		c.setCookie(w, r, sessionCookie, ck.Value, "/console/", idle)
	}
	return &s
}

func (c *Console) saveSession(r *http.Request, s *session, ttl time.Duration) error {
	b, _ := json.Marshal(s)
	return c.KV.Set(r.Context(), s.id, b, ttl)
}

// startSession logs the browser in as openID (a bound worker) and sends
// it to next.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, openID, via, next string) {
	token := randomToken(32)
	s := &session{OpenID: openID, CSRF: randomToken(24), Seen: c.now(), Via: via, id: c.key("sess", hashToken(token))}
	idle := durationOr(c.SessionIdle, DefaultSessionIdle)
	if err := c.saveSession(r, s, idle); err != nil {
		c.log().Error("console: session write failed", "err", err)
		c.plainError(w, http.StatusServiceUnavailable, "系统繁忙，请稍后再试。")
		return
	}
	c.setCookie(w, r, sessionCookie, token, "/console/", idle)
	c.log().Info("console: logged in", "actor", openID, "via", via)
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

// logout ends the session.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.KV.Delete(r.Context(), s.id)
	c.setCookie(w, r, sessionCookie, "", "/console/", -1)
	c.log().Info("console: logged out", "actor", s.OpenID)
	http.Redirect(w, r, "/console/login?bye=1", http.StatusSeeOther)
}

// setCookie sets an HttpOnly, SameSite=Lax cookie, Secure when the request
// came over HTTPS (directly or through a proxy that says so). A negative
// maxAge deletes it.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge time.Duration) {
	ck := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: isHTTPS(r)}
	if maxAge < 0 {
		ck.MaxAge = -1
	} else {
		ck.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, ck)
}

// isHTTPS reports whether the browser talks HTTPS to us.
func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// safeNext keeps a post-login redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix
	}
	return next
}

// baseURL is the server's public URL for a page's redirects: the
// configured one, else the one the browser used.
func (c *Console) baseURL(r *http.Request) string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	scheme := "http"
	if isHTTPS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (c *Console) isLocal() bool {
	_, ok := c.WeChat.(*LocalWeChat)
	return ok
}

// --- Web authorization (inside WeChat) ---

// oauthStart sends the browser to WeChat's web authorization with a fresh
// state, kept in a short-lived cookie together with where to go next.
func (c *Console) oauthStart(w http.ResponseWriter, r *http.Request) {
	state := randomAlnum(32)
	next := safeNext(r.URL.Query().Get("next"))
	// Escaped: a cookie carries no Chinese (a grid's name in next).
	c.setCookie(w, r, oauthCookie, state+"|"+url.QueryEscape(next), "/console/", 10*time.Minute)
	redirect := c.baseURL(r) + "/console/oauth/callback"
	http.Redirect(w, r, c.WeChat.AuthorizeURL(redirect, state), http.StatusFound)
}

// oauthCallback is where WeChat sends the browser back with a code: the
// state must match the cookie's, the code's openid must be a bound worker.
func (c *Console) oauthCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ck, err := r.Cookie(oauthCookie)
	var state, next string
	if err == nil {
		state, next, _ = strings.Cut(ck.Value, "|")
		next, _ = url.QueryUnescape(next)
	}
	c.setCookie(w, r, oauthCookie, "", "/console/", -1)
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(q.Get("state"))) != 1 {
		c.loginError(w, r, http.StatusBadRequest, "登录请求已失效，请重新打开后台。")
		return
	}
	if q.Get("code") == "" {
		c.loginError(w, r, http.StatusForbidden, "没有得到微信授权，请重新打开后台。")
		return
	}
	openID, err := c.WeChat.OpenID(r.Context(), q.Get("code"))
	if err != nil {
		c.log().Warn("console: web authorization failed", "err", err)
		c.loginError(w, r, http.StatusBadGateway, "微信授权失败，请重新打开后台。")
		return
	}
	if _, err := c.Store.Worker(r.Context(), openID); err != nil {
		if codeOf(err) == flows.ENotFound {
			c.loginError(w, r, http.StatusForbidden, "你还没有绑定，不能进入后台。请先在公众号里发送“绑定 邀请码 姓名”。")
			return
		}
		c.log().Error("console: worker read failed", "err", err)
		c.loginError(w, r, http.StatusServiceUnavailable, "系统繁忙，请稍后再试。")
		return
	}
	c.startSession(w, r, openID, "oauth", next)
}

// --- QR login (on a PC) ---

// qrLogin is a pending QR login in the KV: OpenID is set by the scan.
type qrLogin struct {
	OpenID string `json:"openid,omitempty"`
	Next   string `json:"next"`
}

// LoginScenePrefix starts the scene of a login QR code; InviteScenePrefix
// that of an invite QR code.
const (
	LoginScenePrefix  = "login_"
	InviteScenePrefix = "inv_"
)

// loginPage shows the QR code to scan with WeChat, the hint for local
// mode, and the way in from inside WeChat.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if s := c.loadSession(w, r); s != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusFound)
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	if strings.Contains(r.UserAgent(), "MicroMessenger") && !c.isLocal() && r.URL.Query().Get("bye") == "" {
		// Inside WeChat there is nothing to scan: authorize silently.
		http.Redirect(w, r, "/console/login/oauth?next="+url.QueryEscape(next), http.StatusFound)
		return
	}
	id := randomAlnum(24)
	scene := LoginScenePrefix + id
	qrTTL := durationOr(c.QRTTL, DefaultQRTTL)
	data := map[string]any{"Next": next, "Local": c.isLocal(), "Scene": scene, "Bye": r.URL.Query().Get("bye") != "",
		"Minutes": int(qrTTL / time.Minute)}
	b, _ := json.Marshal(qrLogin{Next: next})
	if err := c.KV.Set(r.Context(), c.key("qr", id), b, qrTTL); err != nil {
		c.log().Error("console: login code write failed", "err", err)
		data["QRError"] = "系统繁忙，请稍后刷新。"
	} else if content, err := c.WeChat.CreateQR(r.Context(), scene, qrTTL); err != nil {
		c.log().Warn("console: login QR code not created", "err", err)
		data["QRError"] = "二维码暂时无法生成。可以在公众号里发送“后台”获取登录链接。"
	} else {
		data["QR"] = qrSVG(content)
		c.setCookie(w, r, loginCookie, id, "/console/login", qrTTL)
	}
	w.Header().Set("Cache-Control", "no-store")
	c.render(w, r, http.StatusOK, "login", &page{Title: "登录后台", Data: data})
}

// loginPoll answers the login page's polling: {"done": true, "next": …}
// once the code was scanned by a bound worker (and logs the browser in),
// {"expired": true} when it is gone, else {"done": false}.
func (c *Console) loginPoll(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ck, err := r.Cookie(loginCookie)
	if err != nil || ck.Value == "" {
		writeJSON(w, map[string]any{"expired": true})
		return
	}
	key := c.key("qr", ck.Value)
	b, err := c.KV.Get(r.Context(), key)
	var l qrLogin
	if err != nil || json.Unmarshal(b, &l) != nil {
		writeJSON(w, map[string]any{"expired": true})
		return
	}
	if l.OpenID == "" {
		writeJSON(w, map[string]any{"done": false})
		return
	}
	c.KV.Delete(r.Context(), key)
	c.setCookie(w, r, loginCookie, "", "/console/login", -1)
	token := randomToken(32)
	s := &session{OpenID: l.OpenID, CSRF: randomToken(24), Seen: c.now(), Via: "qr", id: c.key("sess", hashToken(token))}
	idle := durationOr(c.SessionIdle, DefaultSessionIdle)
	if err := c.saveSession(r, s, idle); err != nil {
		c.log().Error("console: session write failed", "err", err)
		writeJSON(w, map[string]any{"expired": true})
		return
	}
	c.setCookie(w, r, sessionCookie, token, "/console/", idle)
	c.log().Info("console: logged in", "actor", l.OpenID, "via", "qr")
	writeJSON(w, map[string]any{"done": true, "next": safeNext(l.Next)})
}

// scanLogin records that openID scanned the login code with this id (the
// scene without LoginScenePrefix). It returns the reply for the chat.
func (c *Console) scanLogin(ctx context.Context, id string, w flows.Worker) string {
	key := c.key("qr", id)
	b, err := c.KV.Get(ctx, key)
	var l qrLogin
	if err != nil || json.Unmarshal(b, &l) != nil {
		return "这个登录二维码已过期。请在电脑上刷新登录页，再扫一次。"
	}
	if l.OpenID != "" && l.OpenID != w.OpenID {
		return "这个登录二维码已被使用。请在电脑上刷新登录页，再扫一次。"
	}
	l.OpenID = w.OpenID
	b, _ = json.Marshal(l)
	if err := c.KV.Set(ctx, key, b, durationOr(c.QRTTL, DefaultQRTTL)); err != nil {
		c.log().Error("console: login code write failed", "err", err)
		return "抱歉，系统出了点问题，请稍后再扫一次。"
	}
	return "✅ 电脑上的后台已登录（" + displayName(w) + "，" + roleName(w.Role) + "）。如果不是你本人在操作，请在后台点“退出”。"
}

// --- One-time links (后台 in chat) ---

// oneTimeLink is what a link token stands for.
type oneTimeLink struct {
	OpenID string `json:"openid"`
	Next   string `json:"next"`
}

// newLink returns a one-time login link for openID that opens next (a
// path under /console/), valid for LinkTTL.
func (c *Console) newLink(ctx context.Context, openID, next string) (string, error) {
	token := randomToken(24)
	b, _ := json.Marshal(oneTimeLink{OpenID: openID, Next: safeNext(next)})
	if err := c.KV.Set(ctx, c.key("link", hashToken(token)), b, durationOr(c.LinkTTL, DefaultLinkTTL)); err != nil {
		return "", err
	}
	return "/console/link/" + token, nil
}

// linkLogin takes a one-time link: it works once, within its time.
func (c *Console) linkLogin(w http.ResponseWriter, r *http.Request) {
	key := c.key("link", hashToken(r.PathValue("token")))
	c.linkMu.Lock()
	b, err := c.KV.Get(r.Context(), key)
	if err == nil {
		err = c.KV.Delete(r.Context(), key)
	}
	c.linkMu.Unlock()
	var l oneTimeLink
	if err != nil || json.Unmarshal(b, &l) != nil {
		if err != nil && codeOf(err) != flows.ENotFound {
			c.log().Error("console: link read failed", "err", err)
		}
		c.loginError(w, r, http.StatusGone, "这个登录链接已失效（只能用一次，10 分钟内有效）。请在公众号里重新发送“后台”。")
		return
	}
	if _, err := c.Store.Worker(r.Context(), l.OpenID); err != nil {
		c.loginError(w, r, http.StatusForbidden, "你还没有绑定，不能进入后台。")
		return
	}
	c.startSession(w, r, l.OpenID, "link", l.Next)
}

// loginError shows the login page's error view.
func (c *Console) loginError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	c.render(w, r, status, "login", &page{Title: "登录后台", Data: map[string]any{"Error": msg, "Next": Prefix, "Local": c.isLocal()}})
}

func displayName(w flows.Worker) string {
	if w.Name != "" {
		return w.Name
	}
	return "未登记姓名"
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}
