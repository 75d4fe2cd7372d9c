package console

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// Errors of the SDK quote the URL they called, with the app secret or the
// access token in it: what the console logs carries neither.
func TestScrubKeepsSecretsOutOfLogs(t *testing.T) {
	for _, err := range []error{
		errors.New("http get error : uri=https://api.weixin.qq.com/sns/oauth2/access_token?appid=wx1&secret=S3CRET&code=C0DE&grant_type=authorization_code , statusCode=502"),
		&url.Error{Op: "Post", URL: "https://api.weixin.qq.com/cgi-bin/qrcode/create?access_token=T0KEN", Err: errors.New("dial tcp: timeout")},
		errors.New(`GetQRTicket Error , errcode=40001 , errmsg=invalid credential, access_token="T0KEN"`),
	} {
		got := scrub("op", err).Error()
		for _, secret := range []string{"S3CRET", "T0KEN", "C0DE"} {
			if strings.Contains(got, secret) {
				t.Errorf("scrub(%q) = %q: still has %s", err, got, secret)
			}
		}
		if !strings.HasPrefix(got, "op: ") {
			t.Errorf("scrub lost the operation: %q", got)
		}
	}
}
