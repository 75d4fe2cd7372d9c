package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/officialaccount"
	offConfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"
)

// Pusher sends messages to a user outside a passive reply: late answers,
// reminders. Outbound sends them to WeChat; Outbox keeps them in memory in
// local mode.
type Pusher interface {
	// SendText sends a customer-service text message (客服消息).
	SendText(ctx context.Context, openID, text string) error
	// SendTemplate sends a template message; data maps the template's
	// keywords to their values (WeChat allows at most 20 characters for a
	// "thing" keyword: the caller keeps within the template's limits).
	SendTemplate(ctx context.Context, openID, templateID string, data map[string]string, url string) error
}

// DefaultAPIBase is WeChat's API base URL, which OutboundConfig.APIBase replaces.
const DefaultAPIBase = "https://api.weixin.qq.com"

// outboundTimeout bounds one HTTP call to the WeChat API.
const outboundTimeout = 10 * time.Second

// OutboundConfig configures an Outbound.
type OutboundConfig struct {
	AppID          string // required
	AppSecret      string // required
	Token          string // passed to the SDK; not needed for sending
	EncodingAESKey string // passed to the SDK; not needed for sending

	// APIBase replaces https://api.weixin.qq.com in every SDK call (a proxy,
	// or the fake platform of package wxtest). Empty: WeChat itself.
	APIBase string
	// StableToken fetches the access token from cgi-bin/stable_token, which
	// does not invalidate the token other servers hold.
	StableToken bool
	// Cache keeps the access token, shared by every gridbot process
	// (NewTokenCache over Redis, or over storage.NewMemKV for one process).
	// Required.
	Cache cache.Cache
	// HTTPClient makes the SDK's calls; nil: a client with a 10 s timeout.
	HTTPClient *http.Client
	Log        *slog.Logger
}

// Outbound sends customer-service and template messages through the WeChat
// API using the silenceper/wechat SDK. It implements Pusher.
//
// The SDK keeps its API base (util.SetURIModifier) and HTTP client
// (util.DefaultHTTPClient) in package globals: NewOutbound sets both, so a
// process should create one Outbound (tests that create several must not
// run them in parallel).
type Outbound struct {
	oa       *officialaccount.OfficialAccount
	custom   *message.Manager
	template *message.Template
	cache    cache.Cache
	tokenKey string // the SDK's cache key of the access token
	log      *slog.Logger
}

// NewOutbound checks c, points the SDK at c.APIBase with c.HTTPClient
// (process-wide, see Outbound) and returns an Outbound.
func NewOutbound(c OutboundConfig) (*Outbound, error) {
	if c.AppID == "" || c.AppSecret == "" {
		return nil, errors.New("outbound: AppID and AppSecret are required")
	}
	if c.Cache == nil {
		return nil, errors.New("outbound: Cache is required")
	}
	base := strings.TrimRight(c.APIBase, "/")
	if base == "" || base == DefaultAPIBase {
		util.SetURIModifier(nil)
	} else {
		if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
			return nil, fmt.Errorf("outbound: api_base %q: want an http(s) URL", c.APIBase)
		}
		util.SetURIModifier(func(uri string) string {
			if rest, ok := strings.CutPrefix(uri, DefaultAPIBase); ok {
				return base + rest
			}
			return uri
		})
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: outboundTimeout}
	}
	util.DefaultHTTPClient = client
	oa := officialaccount.NewOfficialAccount(&offConfig.Config{
		AppID:          c.AppID,
		AppSecret:      c.AppSecret,
		Token:          c.Token,
		EncodingAESKey: c.EncodingAESKey,
		Cache:          c.Cache,
		UseStableAK:    c.StableToken,
	})
	// The SDK's cache keys (credential.DefaultAccessToken / StableAccessToken).
	tokenKey := fmt.Sprintf("%s_access_token_%s", credential.CacheKeyOfficialAccountPrefix, c.AppID)
	if c.StableToken {
		tokenKey = fmt.Sprintf("%s_stable_access_token_%s", credential.CacheKeyOfficialAccountPrefix, c.AppID)
	}
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outbound{
		oa:       oa,
		custom:   oa.GetCustomerMessageManager(),
		template: oa.GetTemplate(),
		cache:    c.Cache,
		tokenKey: tokenKey,
		log:      log,
	}, nil
}

// OfficialAccount is the SDK client, for calls Outbound does not wrap
// (such as creating the menu).
func (o *Outbound) OfficialAccount() *officialaccount.OfficialAccount { return o.oa }

// SendText sends a customer-service text message. Outside the 48-hour
// window WeChat refuses it: IsWindowClosed(err) is then true.
func (o *Outbound) SendText(ctx context.Context, openID, text string) error {
	return o.call(ctx, "custom/send", func() error {
		return o.custom.Send(message.NewCustomerTextMessage(openID, text))
	})
}

// SendTemplate sends a template message with the keywords in data and an
// optional link.
func (o *Outbound) SendTemplate(ctx context.Context, openID, templateID string, data map[string]string, url string) error {
	msg := &message.TemplateMessage{
		ToUser:     openID,
		TemplateID: templateID,
		URL:        url,
		Data:       make(map[string]*message.TemplateDataItem, len(data)),
	}
	for k, v := range data {
		msg.Data[k] = &message.TemplateDataItem{Value: v}
	}
	return o.call(ctx, "template/send", func() error {
		_, err := o.template.Send(msg)
		return err
	})
}

// call runs one SDK send. The SDK's send methods take no context: ctx is
// checked before each attempt and the HTTP client's timeout bounds it. On
// an invalid-token error the cached token is dropped and the send retried
// once with a fresh one.
func (o *Outbound) call(ctx context.Context, op string, send func() error) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return &CallError{Op: op, Msg: err.Error(), err: err}
		}
		token, err := o.oa.GetAccessTokenContext(ctx)
		if err != nil {
			return wxError("access_token", err)
		}
		err = wxError(op, send())
		if err == nil {
			return nil
		}
		if attempt == 0 && IsTokenInvalid(err) {
			o.log.Warn("wechat: access token refused; fetching a new one", "op", op, "err", err)
			o.dropToken(token)
			continue
		}
		return err
	}
}

// dropToken removes the cached access token if it is still the one WeChat
// refused (another goroutine or process may have replaced it already).
func (o *Outbound) dropToken(refused string) {
	if v, ok := o.cache.Get(o.tokenKey).(string); ok && v != refused {
		return
	}
	if err := o.cache.Delete(o.tokenKey); err != nil {
		o.log.Error("wechat: cannot drop the cached access token", "err", err)
	}
}

// WxError is an error code WeChat's API answered with.
type WxError struct {
	Op   string // the call: "custom/send", "template/send", "access_token", ...
	Code int    // errcode
	Msg  string // errmsg
}

// Error formats the call, code and message.
func (e *WxError) Error() string {
	return fmt.Sprintf("wechat %s: errcode=%d errmsg=%s", e.Op, e.Code, e.Msg)
}

// errcodeRE finds the code and message in the SDK's error strings, such as
// "customer msg send error : errcode=45015 , errmsg=response out of time limit"
// and "get access_token error : errcode=40013 , errormsg=invalid appid".
var errcodeRE = regexp.MustCompile(`errcode\s*[=:]\s*(-?\d+)(?:\s*,\s*err(?:or)?msg\s*[=:]\s*(.*))?`)

// CallError is a WeChat API call that failed without an errcode (a
// transport error, an HTTP status, a body that is not JSON). Its message
// names the API path and never carries a query string, where the SDK puts
// the app secret and the access token; Unwrap still reaches the cause
// (context.DeadlineExceeded, ...), whose text must not be logged.
type CallError struct {
	Op  string // the call: "custom/send", "template/send", "access_token", ...
	Msg string // what went wrong, URLs reduced to their path
	err error
}

// Error formats the call and what went wrong.
func (e *CallError) Error() string { return "wechat " + e.Op + ": " + e.Msg }

// Unwrap returns the SDK's error.
func (e *CallError) Unwrap() error { return e.err }

// urlRE finds URLs; secretRE finds credentials outside URLs.
var (
	urlRE    = regexp.MustCompile(`https?://[^\s"'<>]+`)
	secretRE = regexp.MustCompile(`(?i)(access_token|secret|appsecret|ticket)=[^&\s"',]*`)
)

// redact reduces every URL in s to its path and blanks credentials.
func redact(s string) string {
	s = urlRE.ReplaceAllStringFunc(s, func(u string) string {
		u = strings.TrimRight(u, ",.;:)")
		if i := strings.IndexAny(u, "?#"); i >= 0 {
			u = u[:i]
		}
		if rest, ok := strings.CutPrefix(u, "http://"); ok {
			u = rest
		} else {
			u = strings.TrimPrefix(u, "https://")
		}
		if i := strings.IndexByte(u, '/'); i >= 0 {
			return u[i:] // the path only: the host is configuration
		}
		return "/"
	})
	return secretRE.ReplaceAllString(s, "$1=…")
}

// wxError turns an SDK error into a *WxError when it carries an errcode,
// and into a *CallError otherwise. nil stays nil.
func wxError(op string, err error) error {
	if err == nil {
		return nil
	}
	var we *WxError
	var callErr *CallError
	if errors.As(err, &we) || errors.As(err, &callErr) {
		return err
	}
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return &WxError{Op: op, Code: int(ce.ErrCode), Msg: ce.ErrMsg}
	}
	if m := errcodeRE.FindStringSubmatch(err.Error()); m != nil {
		code, convErr := strconv.Atoi(m[1])
		if convErr == nil {
			return &WxError{Op: op, Code: code, Msg: redact(strings.TrimSpace(m[2]))}
		}
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		// "Get <url>: <cause>": the cause, with the path of the URL.
		msg = ue.Op + " " + redact(ue.URL) + ": " + ue.Err.Error()
	}
	return &CallError{Op: op, Msg: redact(msg), err: err}
}

// ErrCode returns the WeChat errcode carried by err, and false when it
// carries none.
func ErrCode(err error) (int, bool) {
	var we *WxError
	if errors.As(err, &we) {
		return we.Code, true
	}
	return 0, false
}

// IsWindowClosed reports whether WeChat refused a customer-service message
// because the user's 48-hour window is closed or its count used up
// (45015, 45047): fall back to a template message.
func IsWindowClosed(err error) bool {
	c, ok := ErrCode(err)
	return ok && (c == 45015 || c == 45047)
}

// IsBusy reports whether WeChat answered "system busy" (-1): back off and retry.
func IsBusy(err error) bool {
	c, ok := ErrCode(err)
	return ok && c == -1
}

// IsTokenInvalid reports whether the access token was refused as invalid
// or expired (40001, 42001, 40014).
func IsTokenInvalid(err error) bool {
	c, ok := ErrCode(err)
	return ok && (c == 40001 || c == 42001 || c == 40014)
}
