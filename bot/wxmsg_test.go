package bot

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/util"
)

// decodeSeeds are inbound messages and envelopes as WeChat sends them, and
// the malformed and odd documents decodeFlat must treat as xml.Unmarshal does.
var decodeSeeds = []string{
	"<xml><ToUserName><![CDATA[gh_gridbot]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1795865906</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[今天宣传发放资料四百余份]]></Content><MsgId>1234567890123456</MsgId></xml>",
	"<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[o]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[location]]></MsgType><Location_X>23.134521</Location_X><Location_Y> 113.358803 </Location_Y><Scale>20</Scale><Label><![CDATA[位置]]></Label><MsgId>5</MsgId></xml>",
	"<xml><FromUserName>o</FromUserName><MsgType>event</MsgType><Event>LOCATION</Event><Latitude>23.137466</Latitude><Longitude>113.352425</Longitude><Precision>119.385040</Precision></xml>",
	"<xml><FromUserName>o</FromUserName><MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><Status><![CDATA[failed:user block]]></Status></xml>",
	"<xml><FromUserName>o</FromUserName><MsgType>voice</MsgType><MediaId>m</MediaId><Recognition>走访</Recognition><PicUrl>http://x/y?a=1&amp;b=2</PicUrl><EventKey>k</EventKey></xml>",
	"<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[abc+/=]]></Encrypt></xml>",
	"<?xml version=\"1.0\"?><!-- c --><xml a=\"1\">  <Content>a<b>skipped</b>c<!-- x -->d<![CDATA[e]]></Content><Content>last</Content>\n</xml>trailing <garbage",
	"<x:xml xmlns:x=\"u\"><x:FromUserName>o</x:FromUserName><y:MsgType xmlns:y=\"v\">text</y:MsgType></x:xml>",
	"<xml><CreateTime></CreateTime><MsgId/><Location_X/></xml>",
	"<xml><CreateTime> </CreateTime></xml>",
	"<xml><CreateTime>12a</CreateTime></xml>",
	"<xml><MsgId>99999999999999999999</MsgId></xml>",
	"<xml><Location_X>nan</Location_X><Location_Y>1e400</Location_Y></xml>",
	"<xml><Content>x</Contents></xml>",
	"<xml><Content>x</Content>",
	"<xml><Content>&bogus;</Content></xml>",
	"<xml><Content>&lt;&#x4e2d;</Content></xml>",
	"",
	"no xml at all",
	"<xml/>",
	"<a><b><c><FromUserName>deep</FromUserName></c></b></a>",
}

// unmarshalMessage is decodeMessage as it was, with xml.Unmarshal.
func unmarshalMessage(b []byte) (wxMessage, error) {
	var m wxMessage
	if err := xml.Unmarshal(b, &m); err != nil {
		return m, err
	}
	m.FromUserName = strings.TrimSpace(m.FromUserName)
	m.MsgType = strings.TrimSpace(m.MsgType)
	if m.FromUserName == "" || m.MsgType == "" {
		return m, errMissingFields
	}
	return m, nil
}

// checkDecode fails when decodeMessage or decodeEnvelope and xml.Unmarshal
// disagree on b: on the values or on whether it is malformed.
func checkDecode(t *testing.T, b []byte) {
	got, gotErr := decodeMessage(b)
	want, wantErr := unmarshalMessage(b)
	if (gotErr == nil) != (wantErr == nil) || (gotErr == nil && !reflect.DeepEqual(got, want)) {
		t.Errorf("%q:\ndecodeMessage  %+v, %v\nxml.Unmarshal  %+v, %v", b, got, gotErr, want, wantErr)
	}
	env, envErr := decodeEnvelope(b)
	var wantEnv wxEnvelope
	wantEnvErr := xml.Unmarshal(b, &wantEnv)
	if (envErr == nil) != (wantEnvErr == nil) || (envErr == nil && env != wantEnv) {
		t.Errorf("%q:\ndecodeEnvelope %+v, %v\nxml.Unmarshal  %+v, %v", b, env, envErr, wantEnv, wantEnvErr)
	}
}

func TestDecodeMatchesUnmarshal(t *testing.T) {
	for _, s := range decodeSeeds {
		checkDecode(t, []byte(s))
	}
}

func FuzzDecodeMatchesUnmarshal(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkDecode)
}

// The structs whose xml.Marshal appendTextReply and appendEncryptedReply
// reproduce.
type (
	cdata struct {
		Text string `xml:",cdata"`
	}
	textReply struct {
		XMLName      xml.Name `xml:"xml"`
		ToUserName   cdata
		FromUserName cdata
		CreateTime   int64
		MsgType      cdata
		Content      cdata
	}
	encryptedReply struct {
		XMLName      xml.Name `xml:"xml"`
		Encrypt      cdata
		MsgSignature cdata
		TimeStamp    int64
		Nonce        cdata
	}
)

func checkReply(t *testing.T, a, b string, n int64, c string) {
	want, err := xml.Marshal(textReply{ToUserName: cdata{a}, FromUserName: cdata{b}, CreateTime: n, MsgType: cdata{"text"}, Content: cdata{c}})
	if err != nil {
		t.Fatal(err)
	}
	if got := appendTextReply([]byte("prefix"), a, b, n, c); string(got) != "prefix"+string(want) {
		t.Errorf("appendTextReply(%q, %q, %d, %q)\n got %s\nwant %s", a, b, n, c, got, want)
	}
	want, err = xml.Marshal(encryptedReply{Encrypt: cdata{a}, MsgSignature: cdata{b}, TimeStamp: n, Nonce: cdata{c}})
	if err != nil {
		t.Fatal(err)
	}
	if got := appendEncryptedReply(nil, a, b, n, c); string(got) != string(want) {
		t.Errorf("appendEncryptedReply(%q, %q, %d, %q)\n got %s\nwant %s", a, b, n, c, got, want)
	}
}

func TestReplyXMLMatchesMarshal(t *testing.T) {
	for _, s := range []string{"", "✅ 已保存。本月你已走访 24 户", "]]>", "x]]>y]]>", "]]]>>", "a]]", "<&>\"'", "\x00\xff\n\t"} {
		checkReply(t, "oUser", "gh_gridbot", 1795865906, s)
		checkReply(t, s, "", -1, s)
	}
}

func FuzzReplyXMLMatchesMarshal(f *testing.F) {
	f.Add("oUser", "gh", int64(1), "x]]>y")
	f.Fuzz(checkReply)
}

func TestSignatureMatchesSDK(t *testing.T) {
	long := strings.Repeat("密文+/=", 100)
	for _, parts := range [][]string{
		{"token", "1795865906", "123456"},
		{"", "", ""},
		{"b", "a", "c", long},
		{"gridbot-token", "1795865906", "nonce", "x"},
	} {
		want := util.Signature(append([]string(nil), parts...)...)
		got := signature(append([]string(nil), parts...)...)
		if string(got[:]) != want {
			t.Errorf("signature(%q) = %s, want %s", parts, got[:], want)
		}
		if !got.matches(want) || got.matches(strings.ToUpper(want)) || got.matches(want[1:]) || got.matches(want+"0") || got.matches("") {
			t.Errorf("matches(%s) is not an exact comparison", want)
		}
	}
}
