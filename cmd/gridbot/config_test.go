package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigExampleParsesToDefaults(t *testing.T) {
	c, err := ReadConfigFile("../../config.example.toml", nil)
	if err != nil {
		t.Fatalf("config.example.toml: %v", err)
	}
	d := DefaultConfig()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.HTTP != d.HTTP || c.WeChat != d.WeChat || c.Storage != d.Storage || c.Redis != d.Redis ||
		c.Session != d.Session || c.Time != d.Time || c.Reminders != d.Reminders || c.Log != d.Log {
		t.Errorf("config.example.toml differs from DefaultConfig:\n%+v\n%+v", c, d)
	}
	if !c.LocalMode() {
		t.Error("example config should run in local mode")
	}
}

func TestConfigFileAndEnv(t *testing.T) {
	p := writeFile(t, `
[redis]
addr = "10.0.0.1:6379"
db = 2
[session]
ttl = "10m"
`)
	c, err := ReadConfigFile(p, []string{"GRIDBOT_REDIS_DB=5", "GRIDBOT_HTTP_ADDR=:9999", "GRIDBOT_SESSION_TTL=1h", "OTHER=x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.Addr != "10.0.0.1:6379" || c.Redis.DB != 5 || c.HTTP.Addr != ":9999" || c.Session.TTL.Duration != time.Hour {
		t.Errorf("got %+v", c)
	}
	if c.Zone().String() != "Asia/Shanghai" {
		t.Errorf("zone %v", c.Zone())
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		label, file string
		env         []string
		want        string
	}{
		{"short aes key", "[wechat]\nencoding_aes_key = \"abc\"", nil, "wechat.encoding_aes_key: must be 43 characters"},
		{"aes key by env", "", []string{"GRIDBOT_WECHAT_ENCODING_AES_KEY=xyz"}, "wechat.encoding_aes_key"},
		{"unknown zone", "[time]\nzone = \"Mars/Olympus\"", nil, "time.zone: unknown zone"},
		{"unknown key", "[redis]\nadress = \"x\"", nil, "unknown key redis.adress"},
		{"bad duration", "[session]\nttl = \"soon\"", nil, "want a duration"},
		{"bad env int", "", []string{"GRIDBOT_REDIS_DB=two"}, "GRIDBOT_REDIS_DB"},
		{"daily_at", "[reminders]\ndaily_at = \"8点半\"", nil, "reminders.daily_at"},
		{"app id without secret", "[wechat]\napp_id = \"wx123\"", nil, "wechat.app_secret"},
		{"reply_within too long", "[wechat]\nreply_within = \"6s\"", nil, "wechat.reply_within"},
		{"bad toml", "[http\naddr=1", nil, "config"},
		{"unknown driver", "[storage]\ndriver = \"mysql\"", nil, "storage.driver: want bbolt or postgres"},
		{"postgres without dsn", "", []string{"GRIDBOT_STORAGE_DRIVER=postgres"}, "storage.dsn"},
		{"negative rate limit", "[limits]\nper_user_per_minute = -1", nil, "limits.per_user_per_minute"},
		{"aes key without app_id", "", []string{"GRIDBOT_WECHAT_ENCODING_AES_KEY=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}, "wechat.app_id"},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			p := ""
			if tt.file != "" {
				p = writeFile(t, tt.file)
			}
			_, err := ReadConfigFile(p, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error should be one line: %q", err)
			}
		})
	}
}

func TestLocalURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		":8080":          "http://127.0.0.1:8080",
		"0.0.0.0:9000":   "http://127.0.0.1:9000",
		"[::]:9000":      "http://127.0.0.1:9000",
		"[::1]:9000":     "http://[::1]:9000",
		"bot.local:80":   "http://bot.local:80",
	} {
		if got := localURL(addr); got != want {
			t.Errorf("localURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestConfigRateLimitFromEnv(t *testing.T) {
	c, err := ReadConfigFile("", []string{"GRIDBOT_LIMITS_PER_USER_PER_MINUTE=0"})
	if err != nil || c.Limits.PerUserPerMinute != 0 {
		t.Fatalf("limit %d, %v; want 0 (off)", c.Limits.PerUserPerMinute, err)
	}
	if d := DefaultConfig(); d.Limits.PerUserPerMinute < 10 {
		t.Fatalf("default limit %d: a burst of ten must pass", d.Limits.PerUserPerMinute)
	}
}
