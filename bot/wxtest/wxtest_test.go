package wxtest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestPlatform(t *testing.T) {
	p := NewPlatform(t)
	p.AppID, p.AppSecret = "wxapp", "secret"
	get := func(path string, q url.Values) map[string]any {
		resp, err := http.Get(p.URL + path + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	post := func(path, token, body string) map[string]any {
		resp, err := http.Post(p.URL+path+"?access_token="+token, "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	code := func(m map[string]any) int {
		f, _ := m["errcode"].(float64)
		return int(f)
	}

	if m := get(PathToken, url.Values{"appid": {"wxapp"}, "secret": {"wrong"}}); code(m) != 40125 {
		t.Fatalf("wrong secret: %v", m)
	}
	tok := get(PathToken, url.Values{"appid": {"wxapp"}, "secret": {"secret"}})["access_token"].(string)
	text := `{"touser":"oU","msgtype":"text","text":{"content":"你好"}}`
	tests := []struct {
		label    string
		setup    func()
		token    string
		wantCode int
		wantSent int
	}{
		{"valid token", nil, tok, 0, 1},
		{"unknown token", nil, "nope", 40001, 1},
		{"injected busy", func() { p.Fail(PathCustomSend, 1, -1) }, tok, -1, 1},
		{"after the injected failure", nil, tok, 0, 2},
		{"invalidated token", p.InvalidateTokens, tok, 40001, 2},
	}
	for _, tt := range tests {
		if tt.setup != nil {
			tt.setup()
		}
		if m := post(PathCustomSend, tt.token, text); code(m) != tt.wantCode {
			t.Errorf("%s: errcode %d, want %d", tt.label, code(m), tt.wantCode)
		}
		if n := len(p.CustomMessages()); n != tt.wantSent {
			t.Errorf("%s: %d messages recorded, want %d", tt.label, n, tt.wantSent)
		}
	}
	if got := p.CustomMessages()[0]; got.ToUser != "oU" || got.Text != "你好" {
		t.Errorf("recorded %+v", got)
	}
	if p.TokenFetches() != 1 || p.Calls(PathToken) != 2 || p.Calls(PathCustomSend) != 5 {
		t.Errorf("fetches %d, token calls %d, send calls %d; want 1, 2, 5", p.TokenFetches(), p.Calls(PathToken), p.Calls(PathCustomSend))
	}
}

// Web authorization as WeChat does it: the authorize page sends the browser
// back with a code and the state; the code gives the openid once.
func TestPlatformOAuth(t *testing.T) {
	p := NewPlatform(t)
	p.AppID, p.AppSecret = "wxapp", "sec"
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := p.URL + PathAuthorize + "?appid=wxapp&redirect_uri=" + url.QueryEscape("https://bot.example/cb?x=1") +
		"&response_type=code&scope=snsapi_base&state=S1"
	resp, err := noFollow.Get(authorize)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("nobody in WeChat's browser: %d, want 403", resp.StatusCode)
	}
	p.SetOAuthUser("o-1")
	resp, err = noFollow.Get(authorize)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || back.Host != "bot.example" || back.Query().Get("state") != "S1" || back.Query().Get("x") != "1" {
		t.Fatalf("authorize: %d → %s", resp.StatusCode, back)
	}
	exchange := func(code, secret string) map[string]any {
		resp, err := http.Get(p.URL + PathOAuthExchange + "?appid=wxapp&secret=" + secret + "&code=" + code + "&grant_type=authorization_code")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	code := back.Query().Get("code")
	if m := exchange(code, "wrong"); m["errcode"] != float64(40125) {
		t.Errorf("wrong secret: %v", m)
	}
	if m := exchange(code, "sec"); m["openid"] != "o-1" {
		t.Errorf("exchange: %v", m)
	}
	if m := exchange(code, "sec"); m["errcode"] != float64(40163) {
		t.Errorf("second exchange of a code: %v", m)
	}
	if m := exchange("made-up", "sec"); m["errcode"] != float64(40029) {
		t.Errorf("unknown code: %v", m)
	}
}

// qrcode/create issues a temporary code and remembers its scene; a bad
// body or an unknown token is refused.
func TestPlatformQRCreate(t *testing.T) {
	p := NewPlatform(t)
	resp, err := http.Get(p.URL + PathToken + "?grant_type=client_credential&appid=a&secret=b")
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	create := func(token, body string) map[string]any {
		resp, err := http.Post(p.URL+PathQRCreate+"?access_token="+token, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	good := `{"expire_seconds":300,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"login_abc"}}}`
	if m := create("nope", good); m["errcode"] != float64(40001) {
		t.Errorf("unknown token: %v", m)
	}
	if m := create(tok.AccessToken, `{"expire_seconds":9999999,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"x"}}}`); m["errcode"] != float64(47001) {
		t.Errorf("too long an expiry: %v", m)
	}
	m := create(tok.AccessToken, good)
	qr, ok := p.QRByURL(m["url"].(string))
	if !ok || qr.Scene != "login_abc" || qr.ExpireSeconds != 300 || m["ticket"] != qr.Ticket {
		t.Errorf("issued %v, recorded %+v", m, qr)
	}
}

// Scan builds SCAN for a follower and subscribe with qrscene_ for a new one.
func TestClientScan(t *testing.T) {
	c := &Client{Token: "t"}
	for _, tc := range []struct {
		subscribe  bool
		event, key string
	}{{false, "SCAN", "login_x"}, {true, "subscribe", "qrscene_login_x"}} {
		req := c.Scan("o-1", "login_x", "TK", tc.subscribe, 100)
		body, _ := io.ReadAll(req.Body)
		var m struct {
			Event, EventKey, Ticket string
		}
		if err := xml.Unmarshal(body, &m); err != nil || m.Event != tc.event || m.EventKey != tc.key || m.Ticket != "TK" {
			t.Errorf("Scan(subscribe=%v): %+v %v", tc.subscribe, m, err)
		}
	}
}
