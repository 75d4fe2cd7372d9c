// Package wxclient plays the WeChat platform's side of a webhook: Client
// builds inbound requests signed (and in safe mode encrypted) as WeChat
// sends them and decodes the replies. `gridbot chat` talks to a running
// bot through it; the tests of package bot do too (through bot/wxtest,
// which adds a fake WeChat API server).
package wxclient

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// Client builds requests to a gridbot webhook as WeChat would send them.
// Its zero Now is time.Now; an empty Account is "gh_gridbot".
type Client struct {
	URL            string // the webhook, e.g. "http://127.0.0.1:8080/wechat"
	Token          string // the Official Account's Token
	AppID          string // needed in safe mode
	EncodingAESKey string // set: safe mode (encrypt_type=aes)
	Account        string // the account's id, ToUserName of inbound messages
	HTTP           *http.Client
	Now            func() time.Time
}

// Message is an inbound message; the helpers (Text, Voice, ...) fill it in.
// A zero CreateTime is the client's now.
type Message struct {
	FromUserName string
	CreateTime   int64
	MsgType      string
	MsgID        int64
	Content      string
	Recognition  string
	PicURL       string
	MediaID      string
	Format       string
	LocationX    float64 // latitude
	LocationY    float64 // longitude
	Scale        int
	Label        string
	Event        string
	EventKey     string
	Latitude     float64 // LOCATION event
	Longitude    float64 // LOCATION event
	// TEMPLATESENDJOBFINISH event: the template message's id and its
	// delivery status ("success", "failed:user block", "failed: system failed").
	TemplateMsgID int64
	Status        string
	// Ticket is the QR code's ticket on subscribe and SCAN events from a
	// parametric QR code.
	Ticket string
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Text is a text message.
func (c *Client) Text(openID, content string, msgID int64) *http.Request {
	return c.Message(Message{FromUserName: openID, MsgType: "text", Content: content, MsgID: msgID})
}

// Voice is a voice message with WeChat's speech recognition result.
func (c *Client) Voice(openID, recognition, mediaID string, msgID int64) *http.Request {
	return c.Message(Message{FromUserName: openID, MsgType: "voice", Recognition: recognition, MediaID: mediaID, Format: "amr", MsgID: msgID})
}

// Image is a picture message.
func (c *Client) Image(openID, picURL, mediaID string, msgID int64) *http.Request {
	return c.Message(Message{FromUserName: openID, MsgType: "image", PicURL: picURL, MediaID: mediaID, MsgID: msgID})
}

// Location is a location message.
func (c *Client) Location(openID string, lat, lng float64, label string, msgID int64) *http.Request {
	return c.Message(Message{FromUserName: openID, MsgType: "location", LocationX: lat, LocationY: lng, Scale: 15, Label: label, MsgID: msgID})
}

// Event is an event (subscribe, unsubscribe, CLICK with its key, ...) at
// createTime (unix seconds; 0: now). Events have no MsgId: WeChat's retries
// repeat the same CreateTime.
func (c *Client) Event(openID, event, key string, createTime int64) *http.Request {
	return c.Message(Message{FromUserName: openID, MsgType: "event", Event: event, EventKey: key, CreateTime: createTime})
}

// Scan is the event WeChat sends when a user scans a parametric QR code
// with the given scene: SCAN with EventKey scene from a follower, or, when
// subscribe is true (the user followed the account from the scan),
// subscribe with EventKey "qrscene_"+scene.
func (c *Client) Scan(openID, scene, ticket string, subscribe bool, createTime int64) *http.Request {
	m := Message{FromUserName: openID, MsgType: "event", Event: "SCAN", EventKey: scene, Ticket: ticket, CreateTime: createTime}
	if subscribe {
		m.Event, m.EventKey = "subscribe", "qrscene_"+scene
	}
	return c.Message(m)
}

// LocationEvent is the LOCATION event WeChat sends when a user shares their
// position with the account.
func (c *Client) LocationEvent(openID string, lat, lng float64, createTime int64) *http.Request {
	return c.Message(Message{FromUserName: openID, MsgType: "event", Event: "LOCATION", Latitude: lat, Longitude: lng, CreateTime: createTime})
}

// Message is a signed (and in safe mode encrypted) POST of m.
func (c *Client) Message(m Message) *http.Request {
	if m.CreateTime == 0 {
		m.CreateTime = c.now().Unix()
	}
	q := c.Query()
	q.Set("openid", m.FromUserName)
	return c.post(q, m.XML(c.account()))
}

func (c *Client) account() string {
	if c.Account != "" {
		return c.Account
	}
	return "gh_gridbot"
}

// XML renders the message as WeChat's XML, addressed to account.
func (m Message) XML(account string) []byte {
	var b bytes.Buffer
	b.WriteString("<xml>")
	cdata(&b, "ToUserName", account)
	cdata(&b, "FromUserName", m.FromUserName)
	plain(&b, "CreateTime", strconv.FormatInt(m.CreateTime, 10))
	cdata(&b, "MsgType", m.MsgType)
	switch m.MsgType {
	case "text":
		cdata(&b, "Content", m.Content)
	case "voice":
		cdata(&b, "MediaId", m.MediaID)
		cdata(&b, "Format", m.Format)
		cdata(&b, "Recognition", m.Recognition)
	case "image":
		cdata(&b, "PicUrl", m.PicURL)
		cdata(&b, "MediaId", m.MediaID)
	case "location":
		plain(&b, "Location_X", strconv.FormatFloat(m.LocationX, 'f', -1, 64))
		plain(&b, "Location_Y", strconv.FormatFloat(m.LocationY, 'f', -1, 64))
		plain(&b, "Scale", strconv.Itoa(m.Scale))
		cdata(&b, "Label", m.Label)
	case "event":
		cdata(&b, "Event", m.Event)
		switch m.Event {
		case "LOCATION":
			plain(&b, "Latitude", strconv.FormatFloat(m.Latitude, 'f', -1, 64))
			plain(&b, "Longitude", strconv.FormatFloat(m.Longitude, 'f', -1, 64))
			plain(&b, "Precision", "30.000000")
		case "TEMPLATESENDJOBFINISH":
			plain(&b, "MsgID", strconv.FormatInt(m.TemplateMsgID, 10))
			cdata(&b, "Status", m.Status)
		default:
			cdata(&b, "EventKey", m.EventKey)
			if m.Ticket != "" {
				cdata(&b, "Ticket", m.Ticket)
			}
		}
	default:
		cdata(&b, "Content", m.Content)
	}
	if m.MsgID != 0 {
		plain(&b, "MsgId", strconv.FormatInt(m.MsgID, 10))
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

func cdata(b *bytes.Buffer, tag, v string) {
	b.WriteString("<" + tag + "><![CDATA[")
	b.WriteString(strings.ReplaceAll(v, "]]>", "]]]]><![CDATA[>"))
	b.WriteString("]]></" + tag + ">")
}

func plain(b *bytes.Buffer, tag, v string) {
	b.WriteString("<" + tag + ">" + v + "</" + tag + ">")
}

// Post signs body (a message's XML) and, in safe mode, encrypts it into the
// envelope WeChat sends; the body may be anything, for malformed-request
// tests.
func (c *Client) Post(body []byte) *http.Request {
	return c.post(c.Query(), body)
}

func (c *Client) post(q url.Values, body []byte) *http.Request {
	if c.EncodingAESKey != "" {
		enc, err := Encrypt(c.EncodingAESKey, c.AppID, body, nil)
		if err != nil {
			panic("wxclient: " + err.Error()) // a bad key is a programming error
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", util.Signature(c.Token, q.Get("timestamp"), q.Get("nonce"), enc))
		var env bytes.Buffer
		env.WriteString("<xml>")
		cdata(&env, "ToUserName", c.account())
		cdata(&env, "Encrypt", enc)
		env.WriteString("</xml>")
		body = env.Bytes()
	}
	return c.request(http.MethodPost, q, body)
}

// Echo is WeChat's GET URL check with echostr.
func (c *Client) Echo(echostr string) *http.Request {
	q := c.Query()
	q.Set("echostr", echostr)
	return c.request(http.MethodGet, q, nil)
}

// Query returns a signed query: signature, timestamp (now) and a random nonce.
func (c *Client) Query() url.Values {
	ts := strconv.FormatInt(c.now().Unix(), 10)
	nonce := randomNonce()
	q := url.Values{}
	q.Set("signature", util.Signature(c.Token, ts, nonce))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	return q
}

func (c *Client) request(method string, q url.Values, body []byte) *http.Request {
	u := c.URL
	if u == "" {
		u = "http://gridbot.test/wechat"
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u+"?"+q.Encode(), rd)
	if err != nil {
		panic("wxclient: bad URL " + u + ": " + err.Error())
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/xml")
	}
	return req
}

// Do sends req with c.HTTP (http.DefaultClient when nil) and returns the
// decoded reply ("" for "success" or an empty body).
func (c *Client) Do(req *http.Request) (string, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	return c.DecodeReply(resp)
}

// Reply is a passive text reply as WeChat reads it.
type Reply struct {
	ToUserName   string `xml:"ToUserName"`
	FromUserName string `xml:"FromUserName"`
	CreateTime   int64  `xml:"CreateTime"`
	MsgType      string `xml:"MsgType"`
	Content      string `xml:"Content"`
}

type encryptedReply struct {
	Encrypt      string `xml:"Encrypt"`
	MsgSignature string `xml:"MsgSignature"`
	TimeStamp    string `xml:"TimeStamp"`
	Nonce        string `xml:"Nonce"`
}

// DecodeReply reads and closes resp's body and returns the reply text: ""
// for "success" or an empty body. A non-200 status is an error. In safe
// mode it verifies the reply's MsgSignature and decrypts it as WeChat does.
func (c *Client) DecodeReply(resp *http.Response) (string, error) {
	r, err := c.DecodeReplyXML(resp)
	return r.Content, err
}

// DecodeReplyXML is DecodeReply returning the whole reply message. The
// zero Reply stands for "success".
func (c *Client) DecodeReplyXML(resp *http.Response) (Reply, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Reply{}, fmt.Errorf("wxclient: status %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	s := bytes.TrimSpace(body)
	if len(s) == 0 || string(s) == "success" {
		return Reply{}, nil
	}
	if c.EncodingAESKey != "" {
		var env encryptedReply
		if err := xml.Unmarshal(s, &env); err != nil {
			return Reply{}, fmt.Errorf("wxclient: malformed encrypted reply: %w", err)
		}
		if env.Encrypt == "" {
			return Reply{}, errors.New("wxclient: reply is not encrypted in safe mode")
		}
		want := util.Signature(c.Token, env.TimeStamp, env.Nonce, env.Encrypt)
		if subtle.ConstantTimeCompare([]byte(env.MsgSignature), []byte(want)) != 1 {
			return Reply{}, errors.New("wxclient: reply MsgSignature does not verify")
		}
		plain, appID, err := Decrypt(c.EncodingAESKey, env.Encrypt)
		if err != nil {
			return Reply{}, err
		}
		if appID != c.AppID {
			return Reply{}, fmt.Errorf("wxclient: reply encrypted for AppID %q, want %q", appID, c.AppID)
		}
		s = plain
	}
	var r Reply
	if err := xml.Unmarshal(s, &r); err != nil {
		return Reply{}, fmt.Errorf("wxclient: malformed reply: %w", err)
	}
	if r.MsgType != "text" {
		return r, fmt.Errorf("wxclient: reply MsgType %q, want text", r.MsgType)
	}
	return r, nil
}

// Encrypt encrypts msg for appID as WeChat's safe mode does and returns the
// base64 Encrypt value. random is the 16-byte prefix; nil: crypto/rand.
func Encrypt(encodingAESKey, appID string, msg, random []byte) (string, error) {
	key, err := aesKey(encodingAESKey)
	if err != nil {
		return "", err
	}
	if random == nil {
		random = make([]byte, 16)
		rand.Read(random)
	}
	if len(random) != 16 {
		return "", errors.New("wxclient: random prefix must be 16 bytes")
	}
	return base64.StdEncoding.EncodeToString(util.AESEncryptMsg(random, msg, appID, key)), nil
}

// Decrypt decrypts a base64 Encrypt value and returns the message and the
// AppID it was encrypted for.
func Decrypt(encodingAESKey, encrypt string) (msg []byte, appID string, err error) {
	key, err := aesKey(encodingAESKey)
	if err != nil {
		return nil, "", err
	}
	ct, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil {
		return nil, "", fmt.Errorf("wxclient: Encrypt is not base64: %w", err)
	}
	_, msg, id, err := util.AESDecryptMsg(ct, key)
	if err != nil {
		return nil, "", fmt.Errorf("wxclient: cannot decrypt: %w", err)
	}
	return msg, string(id), nil
}

func aesKey(encodingAESKey string) ([]byte, error) {
	if len(encodingAESKey) != 43 {
		return nil, fmt.Errorf("wxclient: EncodingAESKey must be 43 characters, got %d", len(encodingAESKey))
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("wxclient: EncodingAESKey is not base64 of 32 bytes")
	}
	return key, nil
}

func randomNonce() string {
	var b [5]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
