package wxtest

// The browser side of the fake platform (web authorization) and its
// parametric QR codes.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// SetOAuthUser sets who is using WeChat's browser: web authorization
// (PathAuthorize) issues codes for this openid. "" makes it refuse.
func (p *Platform) SetOAuthUser(openID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.oauthUser = openID
}

// QRCodes returns the parametric QR codes issued so far.
func (p *Platform) QRCodes() []QRCode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]QRCode(nil), p.qrs...)
}

// QRByURL returns the issued QR code whose content is url: what a phone
// scanning that code would find.
func (p *Platform) QRByURL(url string) (QRCode, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, q := range p.qrs {
		if q.URL == url {
			return q, true
		}
	}
	return QRCode{}, false
}

// authorize is WeChat's web authorization page: for snsapi_base it sends
// the browser straight back to redirect_uri with a fresh single-use code
// and the state, as WeChat does for a follower of the account.
func (p *Platform) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case err != nil || redirect.Scheme == "" || redirect.Host == "":
		http.Error(w, "redirect_uri 参数错误", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code" || (q.Get("scope") != "snsapi_base" && q.Get("scope") != "snsapi_userinfo"):
		http.Error(w, "scope 参数错误", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	if p.AppID != "" && q.Get("appid") != p.AppID {
		p.mu.Unlock()
		http.Error(w, "appid 参数错误", http.StatusBadRequest)
		return
	}
	user := p.oauthUser
	if user == "" {
		p.mu.Unlock()
		http.Error(w, "请在微信客户端打开链接", http.StatusForbidden)
		return
	}
	p.codeSeq++
	code := fmt.Sprintf("CODE-%d", p.codeSeq)
	p.codes[code] = user
	p.mu.Unlock()
	back := redirect.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// oauthExchange trades a web authorization code for the user's openid:
// each code works once.
func (p *Platform) oauthExchange(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.begin(w, r.URL.Path) {
		return
	}
	switch {
	case p.AppID != "" && q.Get("appid") != p.AppID:
		writeErr(w, 40013)
		return
	case p.AppSecret != "" && q.Get("secret") != p.AppSecret:
		writeErr(w, 40125)
		return
	case q.Get("grant_type") != "authorization_code":
		writeErr(w, 40029)
		return
	}
	code := q.Get("code")
	if p.usedCodes[code] {
		writeErr(w, 40163)
		return
	}
	openID, ok := p.codes[code]
	if !ok {
		writeErr(w, 40029)
		return
	}
	delete(p.codes, code)
	p.usedCodes[code] = true
	writeJSON(w, map[string]any{"access_token": "USER-" + code, "expires_in": 7200,
		"refresh_token": "REFRESH-" + code, "openid": openID, "scope": "snsapi_base"})
}

// qrCreate issues a parametric QR code and records its scene.
func (p *Platform) qrCreate(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var body struct {
		ExpireSeconds int    `json:"expire_seconds"`
		ActionName    string `json:"action_name"`
		ActionInfo    struct {
			Scene struct {
				SceneStr string `json:"scene_str"`
				SceneID  int    `json:"scene_id"`
			} `json:"scene"`
		} `json:"action_info"`
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.authorized(w, r) {
		return
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.ActionName == "" {
		writeErr(w, 47001)
		return
	}
	scene := body.ActionInfo.Scene.SceneStr
	if scene == "" && body.ActionInfo.Scene.SceneID != 0 {
		scene = fmt.Sprint(body.ActionInfo.Scene.SceneID)
	}
	temporary := body.ActionName == "QR_SCENE" || body.ActionName == "QR_STR_SCENE"
	if scene == "" || len(scene) > 64 || (temporary && (body.ExpireSeconds < 0 || body.ExpireSeconds > 2592000)) {
		writeErr(w, 47001) // data format error
		return
	}
	if temporary && body.ExpireSeconds == 0 {
		body.ExpireSeconds = 30
	}
	ticket := fmt.Sprintf("TICKET-%d", len(p.qrs)+1)
	qr := QRCode{Scene: scene, Action: body.ActionName, ExpireSeconds: body.ExpireSeconds, Ticket: ticket,
		URL: "http://weixin.qq.com/q/" + ticket}
	p.qrs = append(p.qrs, qr)
	p.notify()
	writeJSON(w, map[string]any{"ticket": qr.Ticket, "expire_seconds": qr.ExpireSeconds, "url": qr.URL})
}
