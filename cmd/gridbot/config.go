package main

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"gridbot/flows"
)

// Config is the whole configuration: one nested struct, read from TOML and
// overridden by GRIDBOT_<SECTION>_<KEY> environment variables.
type Config struct {
	HTTP struct {
		Addr string `toml:"addr"`
	} `toml:"http"`
	WeChat struct {
		AppID              string   `toml:"app_id"`
		AppSecret          string   `toml:"app_secret"`
		Token              string   `toml:"token"`
		EncodingAESKey     string   `toml:"encoding_aes_key"`
		APIBase            string   `toml:"api_base"`
		ReminderTemplateID string   `toml:"reminder_template_id"`
		TimestampWindow    Duration `toml:"timestamp_window"`
		ReplyWithin        Duration `toml:"reply_within"`
	} `toml:"wechat"`
	Storage struct {
		Driver string `toml:"driver"` // "bbolt" or "postgres"
		Path   string `toml:"path"`   // bbolt file
		DSN    string `toml:"dsn"`    // postgres://…
	} `toml:"storage"`
	Redis struct {
		Addr     string `toml:"addr"`
		Password string `toml:"password"`
		DB       int    `toml:"db"`
	} `toml:"redis"`
	API struct {
		Token string `toml:"token"`
	} `toml:"api"`
	// Console is the supervisors' web console under /console/.
	Console struct {
		// BaseURL is the public URL of the server, as phones reach it: the
		// links the bot sends ("后台") and the web authorization's redirect.
		BaseURL string `toml:"base_url"`
		// AuthorizeBase is the host of WeChat's web authorization page.
		AuthorizeBase string `toml:"authorize_base"`
	} `toml:"console"`
	Session struct {
		Prefix string   `toml:"prefix"`
		TTL    Duration `toml:"ttl"`
	} `toml:"session"`
	Time struct {
		Zone string `toml:"zone"`
	} `toml:"time"`
	Reminders struct {
		DailyAt           string `toml:"daily_at"`
		EscalateAfterDays int    `toml:"escalate_after_days"`
	} `toml:"reminders"`
	Limits struct {
		PerUserPerMinute int `toml:"per_user_per_minute"`
	} `toml:"limits"`
	Log struct {
		Level string `toml:"level"`
	} `toml:"log"`
	// Flows adds report flows, kinds and counters to the shipped ones, or
	// extends a shipped flow with the same key.
	Flows []flows.FlowDef `toml:"flows"`

	zone *time.Location
}

// Duration is a time.Duration written as "30m", "5s" in TOML and env.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("want a duration such as 30m or 5s")
	}
	d.Duration = v
	return nil
}

// MarshalText formats the duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// DefaultConfig is what gridbot runs on with no config file: local mode,
// bbolt in the working directory, sessions and token cache embedded.
func DefaultConfig() Config {
	var c Config
	c.HTTP.Addr = "127.0.0.1:8080"
	c.WeChat.Token = "gridbot"
	c.WeChat.APIBase = "https://api.weixin.qq.com"
	c.Console.AuthorizeBase = "https://open.weixin.qq.com"
	c.WeChat.TimestampWindow = Duration{5 * time.Minute}
	c.WeChat.ReplyWithin = Duration{4 * time.Second}
	c.Storage.Driver = "bbolt"
	c.Storage.Path = "gridbot.db"
	c.Session.Prefix = "gridbot:session:"
	c.Session.TTL = Duration{30 * time.Minute}
	c.Time.Zone = flows.DefaultZoneName
	c.Reminders.DailyAt = "08:30"
	c.Reminders.EscalateAfterDays = 14
	c.Limits.PerUserPerMinute = 30
	c.Log.Level = "info"
	return c
}

// ReadConfigFile reads path over the defaults (no file: the defaults), then
// applies environment overrides and validates.
func ReadConfigFile(path string, environ []string) (Config, error) {
	c := DefaultConfig()
	if path != "" {
		md, err := toml.DecodeFile(path, &c)
		if err != nil {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			return c, fmt.Errorf("config %s: unknown key %s", path, und[0])
		}
	}
	if err := c.applyEnv(environ); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// applyEnv sets every GRIDBOT_<SECTION>_<KEY> found in environ.
func (c *Config) applyEnv(environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "GRIDBOT_") {
			env[k] = v
		}
	}
	root := reflect.ValueOf(c).Elem()
	for i := 0; i < root.NumField(); i++ {
		sec := root.Type().Field(i)
		secName := strings.Split(sec.Tag.Get("toml"), ",")[0]
		if sec.Type.Kind() != reflect.Struct || secName == "" {
			continue
		}
		for j := 0; j < sec.Type.NumField(); j++ {
			f := sec.Type.Field(j)
			key := strings.Split(f.Tag.Get("toml"), ",")[0]
			name := "GRIDBOT_" + strings.ToUpper(secName+"_"+key)
			v, ok := env[name]
			if !ok {
				continue
			}
			if err := setField(root.Field(i).Field(j), v); err != nil {
				return fmt.Errorf("config: %s=%q: %v", name, v, err)
			}
		}
	}
	return nil
}

func setField(f reflect.Value, v string) error {
	if u, ok := f.Addr().Interface().(interface{ UnmarshalText([]byte) error }); ok {
		return u.UnmarshalText([]byte(v))
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(v)
	case reflect.Int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("want a whole number")
		}
		f.SetInt(int64(n))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// Validate checks every key and names the first bad one.
func (c *Config) Validate() error {
	bad := func(key, why string) error { return fmt.Errorf("config: %s: %s", key, why) }
	if c.HTTP.Addr == "" {
		return bad("http.addr", "must not be empty (e.g. 127.0.0.1:8080)")
	}
	if k := c.WeChat.EncodingAESKey; k != "" {
		if len(k) != 43 {
			return bad("wechat.encoding_aes_key", fmt.Sprintf("must be 43 characters, got %d", len(k)))
		}
		if _, err := base64.StdEncoding.DecodeString(k + "="); err != nil {
			return bad("wechat.encoding_aes_key", "is not valid base64")
		}
		if c.WeChat.AppID == "" {
			return bad("wechat.app_id", "safe mode (wechat.encoding_aes_key) needs the account's app_id, which encrypted messages carry")
		}
	}
	if c.WeChat.Token == "" {
		return bad("wechat.token", "must not be empty")
	}
	if (c.WeChat.AppID == "") != (c.WeChat.AppSecret == "") {
		return bad("wechat.app_secret", "app_id and app_secret go together (set both, or neither for local mode)")
	}
	if !strings.HasPrefix(c.WeChat.APIBase, "http://") && !strings.HasPrefix(c.WeChat.APIBase, "https://") {
		return bad("wechat.api_base", "must be an http(s) URL")
	}
	if u := c.Console.BaseURL; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return bad("console.base_url", "must be an http(s) URL, e.g. https://bot.example.com")
	}
	if !strings.HasPrefix(c.Console.AuthorizeBase, "http://") && !strings.HasPrefix(c.Console.AuthorizeBase, "https://") {
		return bad("console.authorize_base", "must be an http(s) URL")
	}
	if c.WeChat.TimestampWindow.Duration <= 0 {
		return bad("wechat.timestamp_window", "must be positive")
	}
	if d := c.WeChat.ReplyWithin.Duration; d <= 0 || d >= 5*time.Second {
		return bad("wechat.reply_within", "must be between 0 and 5s (WeChat waits 5s)")
	}
	switch c.Storage.Driver {
	case "bbolt":
		if c.Storage.Path == "" {
			return bad("storage.path", "must not be empty")
		}
	case "postgres":
		if !strings.HasPrefix(c.Storage.DSN, "postgres://") && !strings.HasPrefix(c.Storage.DSN, "postgresql://") {
			return bad("storage.dsn", "driver postgres needs a DSN such as postgres://gridbot@db.example:5432/gridbot")
		}
	default:
		return bad("storage.driver", fmt.Sprintf("want bbolt or postgres, got %q", c.Storage.Driver))
	}
	if c.Redis.DB < 0 {
		return bad("redis.db", "must not be negative")
	}
	if c.Session.TTL.Duration <= 0 {
		return bad("session.ttl", "must be positive")
	}
	zone, err := time.LoadLocation(c.Time.Zone)
	if err != nil || c.Time.Zone == "" {
		return bad("time.zone", fmt.Sprintf("unknown zone %q (e.g. Asia/Shanghai)", c.Time.Zone))
	}
	c.zone = zone
	if _, err := time.Parse("15:04", c.Reminders.DailyAt); err != nil {
		return bad("reminders.daily_at", fmt.Sprintf("want HH:MM, got %q", c.Reminders.DailyAt))
	}
	if c.Reminders.EscalateAfterDays < 1 {
		return bad("reminders.escalate_after_days", "must be at least 1")
	}
	if c.Limits.PerUserPerMinute < 0 {
		return bad("limits.per_user_per_minute", "must not be negative (0 turns the limit off)")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "want debug, info, warn or error")
	}
	return nil
}

// LocalMode reports whether no WeChat credentials are set: outbound
// messages then go to a local outbox.
func (c *Config) LocalMode() bool { return c.WeChat.AppID == "" }

// Zone is the validated time zone.
func (c *Config) Zone() *time.Location {
	if c.zone == nil {
		c.zone, _ = time.LoadLocation(c.Time.Zone)
	}
	return c.zone
}
