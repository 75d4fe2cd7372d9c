package wxclient

import (
	"encoding/xml"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/util"
)

// The test vector published with WeChat's message encryption docs.
const (
	vecToken  = "pamtest"
	vecAppID  = "wxb11529c136998cb6"
	vecKey    = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	vecRandom = "aaaabbbbccccdddd"
	vecPlain  = "我是中文abcd123"
	vecCipher = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
)

func TestPublishedVector(t *testing.T) {
	got, err := Encrypt(vecKey, vecAppID, []byte(vecPlain), []byte(vecRandom))
	if err != nil {
		t.Fatal(err)
	}
	if got != vecCipher {
		t.Fatalf("Encrypt = %s\nwant      %s", got, vecCipher)
	}
	msg, appID, err := Decrypt(vecKey, vecCipher)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg) != vecPlain || appID != vecAppID {
		t.Fatalf("Decrypt = %q, %q; want %q, %q", msg, appID, vecPlain, vecAppID)
	}
}

func TestClientSignsAndEncrypts(t *testing.T) {
	c := &Client{URL: "http://bot.test/wechat", Token: vecToken, AppID: vecAppID, EncodingAESKey: vecKey}
	req := c.Text("oUser1", "走访 3-2-201", 42)
	q := req.URL.Query()
	if q.Get("signature") != util.Signature(vecToken, q.Get("timestamp"), q.Get("nonce")) {
		t.Fatal("signature does not verify")
	}
	if q.Get("encrypt_type") != "aes" || q.Get("openid") != "oUser1" {
		t.Fatalf("query %v: want encrypt_type=aes and openid", q)
	}
	body, _ := io.ReadAll(req.Body)
	var env struct {
		Encrypt string `xml:"Encrypt"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	if q.Get("msg_signature") != util.Signature(vecToken, q.Get("timestamp"), q.Get("nonce"), env.Encrypt) {
		t.Fatal("msg_signature does not verify")
	}
	plain, appID, err := Decrypt(vecKey, env.Encrypt)
	if err != nil || appID != vecAppID {
		t.Fatalf("Decrypt: %v, appID %q", err, appID)
	}
	for _, want := range []string{"<FromUserName><![CDATA[oUser1]]>", "<Content><![CDATA[走访 3-2-201]]>", "<MsgId>42</MsgId>"} {
		if !strings.Contains(string(plain), want) {
			t.Errorf("message %s lacks %s", plain, want)
		}
	}
}

func TestDecodeReplyRefusesForgedSignature(t *testing.T) {
	c := &Client{Token: vecToken, AppID: vecAppID, EncodingAESKey: vecKey}
	enc, _ := Encrypt(vecKey, vecAppID, []byte("<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>"), nil)
	good := util.Signature(vecToken, "1", "n", enc)
	tests := []struct {
		label, sig string
		want       string
		wantErr    bool
	}{
		{"valid", good, "hi", false},
		{"forged", strings.Repeat("0", 40), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			body := "<xml><Encrypt><![CDATA[" + enc + "]]></Encrypt><MsgSignature><![CDATA[" + tt.sig + "]]></MsgSignature><TimeStamp>1</TimeStamp><Nonce><![CDATA[n]]></Nonce></xml>"
			rec := httptest.NewRecorder()
			rec.WriteString(body)
			got, err := c.DecodeReply(rec.Result())
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("DecodeReply = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
