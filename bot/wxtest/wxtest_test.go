package wxtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
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
