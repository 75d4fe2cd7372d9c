package main

// The few lines of WeChat signing and safe-mode encryption the load
// generator needs. They duplicate bot/wxtest's Client on purpose: wxtest is
// test-only by intent, and the generator must spend as little CPU per
// message as it can (no encoding/xml on the hot path), since on the pinned
// bench it has one core against the server's one.

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"gridbot/bot"
)

// account is the ToUserName of the messages the generator sends.
const account = "gh_gridbot_load"

// signer builds signed (and in safe mode encrypted) webhook requests and
// decodes the replies, as the WeChat platform does.
type signer struct {
	path  string // the webhook's path, e.g. /wechat
	token string
	appID string
	key   []byte // AES key; nil: plain mode
}

func newSigner(path, token, appID, encodingAESKey string) (*signer, error) {
	s := &signer{path: path, token: token, appID: appID}
	if encodingAESKey != "" {
		key, err := bot.DecodeAESKey(encodingAESKey)
		if err != nil {
			return nil, err
		}
		if appID == "" {
			return nil, errors.New("safe mode (-aes-key) needs -app-id: the AppID is part of every encrypted message")
		}
		s.key = key
	}
	return s, nil
}

// request is a text message from openID, signed with a fresh timestamp and
// nonce: the request target (path and query) and the body. rnd supplies the
// nonce and the safe-mode random prefix.
func (s *signer) request(openID, text string, msgID int64, rnd *rand.Rand) (target string, body []byte) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := strconv.FormatUint(rnd.Uint64()>>24, 36)
	var b bytes.Buffer
	b.Grow(256 + len(openID) + len(text))
	b.WriteString("<xml><ToUserName><![CDATA[" + account + "]]></ToUserName><FromUserName>")
	cdata(&b, openID)
	b.WriteString("</FromUserName><CreateTime>" + ts + "</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>")
	cdata(&b, text)
	b.WriteString("</Content><MsgId>" + strconv.FormatInt(msgID, 10) + "</MsgId></xml>")
	body = b.Bytes()

	// The query by hand: every value but openid is hex or digits.
	q := s.path + "?signature=" + util.Signature(s.token, ts, nonce) + "&timestamp=" + ts + "&nonce=" + nonce +
		"&openid=" + url.QueryEscape(openID)
	if s.key != nil {
		var random [16]byte
		for i := range random {
			random[i] = byte(rnd.Uint32())
		}
		enc := base64.StdEncoding.EncodeToString(util.AESEncryptMsg(random[:], body, s.appID, s.key))
		q += "&encrypt_type=aes&msg_signature=" + util.Signature(s.token, ts, nonce, enc)
		var env bytes.Buffer
		env.WriteString("<xml><ToUserName><![CDATA[" + account + "]]></ToUserName><Encrypt><![CDATA[")
		env.WriteString(enc)
		env.WriteString("]]></Encrypt></xml>")
		body = env.Bytes()
	}
	return q, body
}

func cdata(b *bytes.Buffer, v string) {
	b.WriteString("<![CDATA[")
	b.WriteString(strings.ReplaceAll(v, "]]>", "]]]]><![CDATA[>"))
	b.WriteString("]]>")
}

// Kinds of failed requests, as the report counts them.
const (
	errTransport = "transport"   // no HTTP answer: connection refused or reset
	errTimeout   = "timeout"     // no answer within the client timeout
	errStatus    = "http-status" // an HTTP status other than 200
	errMalformed = "malformed"   // a reply WeChat could not read (bad XML, signature, AppID, addressee)
	errUnchecked = "wrong-reply" // a readable reply that is not the expected answer
)

// replyError is a failed request with its kind.
type replyError struct {
	kind string
	msg  string
}

func (e *replyError) Error() string { return e.kind + ": " + e.msg }

func failf(kind, format string, args ...any) *replyError {
	return &replyError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// success is the reply text standing for WeChat's "success" (or an empty
// body): no passive reply; gridbot then pushes the answer later.
const success = "\x00success"

// decode returns the reply text to openID (success for "success") from
// an HTTP status and body, checking the envelope as WeChat does.
func (s *signer) decode(status int, body []byte, openID string) (string, *replyError) {
	if status != http.StatusOK {
		return "", failf(errStatus, "status %d: %.80s", status, bytes.TrimSpace(body))
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || string(body) == "success" {
		return success, nil
	}
	if s.key != nil {
		enc, ok1 := element(body, "Encrypt")
		sig, ok2 := element(body, "MsgSignature")
		ts, ok3 := element(body, "TimeStamp")
		nonce, ok4 := element(body, "Nonce")
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return "", failf(errMalformed, "safe-mode reply without Encrypt, MsgSignature, TimeStamp or Nonce: %.80s", body)
		}
		if subtle.ConstantTimeCompare([]byte(sig), []byte(util.Signature(s.token, ts, nonce, enc))) != 1 {
			return "", failf(errMalformed, "reply MsgSignature does not verify")
		}
		ct, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return "", failf(errMalformed, "reply Encrypt is not base64")
		}
		_, plain, appID, err := util.AESDecryptMsg(ct, s.key)
		if err != nil {
			return "", failf(errMalformed, "cannot decrypt the reply: %v", err)
		}
		if string(appID) != s.appID {
			return "", failf(errMalformed, "reply encrypted for AppID %q, want %q", appID, s.appID)
		}
		body = plain
	}
	to, ok1 := element(body, "ToUserName")
	typ, ok2 := element(body, "MsgType")
	content, ok3 := element(body, "Content")
	if !ok1 || !ok2 || !ok3 {
		return "", failf(errMalformed, "reply without ToUserName, MsgType or Content: %.80s", body)
	}
	if typ != "text" {
		return "", failf(errMalformed, "reply MsgType %q, want text", typ)
	}
	if to != openID {
		return "", failf(errMalformed, "reply addressed to %q, sent by %q", to, openID)
	}
	return content, nil
}

// element returns the text of the first <tag> in an XML document: the
// fast path reads CDATA sections and plain text without entities, anything
// else goes through encoding/xml.
func element(doc []byte, tag string) (string, bool) {
	open, end := "<"+tag+">", "</"+tag+">"
	i := bytes.Index(doc, []byte(open))
	if i < 0 {
		return "", false
	}
	rest := doc[i+len(open):]
	j := bytes.Index(rest, []byte(end))
	if j < 0 {
		return "", false
	}
	v := rest[:j]
	if !bytes.Contains(v, []byte("&")) && !bytes.Contains(v, []byte("<")) {
		return string(v), true // plain text, no entities
	}
	const cdOpen, cdClose = "<![CDATA[", "]]>"
	var out strings.Builder
	for s := v; len(s) > 0; {
		if !bytes.HasPrefix(s, []byte(cdOpen)) {
			return slowElement(doc, i, tag)
		}
		k := bytes.Index(s, []byte(cdClose))
		if k < 0 {
			return "", false
		}
		out.Write(s[len(cdOpen):k])
		s = s[k+len(cdClose):]
	}
	return out.String(), true
}

// slowElement decodes <tag> at offset i with encoding/xml (entities, mixed content).
func slowElement(doc []byte, i int, tag string) (string, bool) {
	var v string
	d := xml.NewDecoder(bytes.NewReader(doc[i:]))
	if err := d.DecodeElement(&v, nil); err != nil {
		return "", false
	}
	return v, true
}
