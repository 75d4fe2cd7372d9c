package bot

import (
	"encoding/xml"
	"fmt"
	"testing"

	"gridbot/bot/wxtest"
)

// flatSamples are WeChat messages as the platform sends them, with the
// layouts seen in its docs (newlines, tabs, numbers without CDATA).
var flatSamples = []string{
	string(wxtest.Message{FromUserName: "oA", MsgType: "text", Content: "走访 3-2-201", MsgID: 1, CreateTime: 1700000000}.XML("gh_x")),
	string(wxtest.Message{FromUserName: "oA", MsgType: "voice", Recognition: "本月统计", MediaID: "m", Format: "amr", MsgID: 2, CreateTime: 1700000000}.XML("gh_x")),
	string(wxtest.Message{FromUserName: "oA", MsgType: "location", LocationX: 31.2304, LocationY: 121.4737, Scale: 15, Label: "菜市场", MsgID: 3, CreateTime: 1700000000}.XML("gh_x")),
	string(wxtest.Message{FromUserName: "oA", MsgType: "event", Event: "LOCATION", Latitude: 23.1, Longitude: 113.2, CreateTime: 1700000000}.XML("gh_x")),
	"<xml>\n  <ToUserName><![CDATA[toUser]]></ToUserName>\n  <FromUserName><![CDATA[fromUser]]></FromUserName>\n  <CreateTime>1348831860</CreateTime>\n  <MsgType><![CDATA[text]]></MsgType>\n  <Content><![CDATA[this is a test]]></Content>\n  <MsgId>1234567890123456</MsgId>\n  <MsgDataId>xxxx</MsgDataId>\n  <Idx>xxxx</Idx>\n</xml>",
	"<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[o]]></FromUserName><CreateTime>123456789</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[EVENTKEY]]></EventKey></xml>",
	"<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime> 12 </CreateTime><MsgType>text</MsgType><Content>a > b</Content></xml>",
	"<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[abc+/=]]></Encrypt></xml>",
}

// notFlat are documents scanFlat leaves to encoding/xml (valid or not).
var notFlat = []string{
	`<?xml version="1.0"?><xml><FromUserName>o</FromUserName><MsgType>text</MsgType></xml>`,
	`<xml><FromUserName a="1">o</FromUserName></xml>`,
	`<xml><!-- c --><FromUserName>o</FromUserName></xml>`,
	`<xml><Content>a &amp; b</Content></xml>`,
	`<xml><Content>a` + "\r\n" + `b</Content></xml>`,
	`<xml><Content><![CDATA[a]]><![CDATA[b]]></Content></xml>`,
	`<xml><ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo></xml>`,
	`<xml><Content/></xml>`,
	`<xml><Content>x</Contents></xml>`,
	`<xml><CreateTime>soon</CreateTime></xml>`,
	`<xml><CreateTime> </CreateTime></xml>`,
	"<xml><Content>\x01</Content></xml>",
	"<xml><Content>\xff</Content></xml>",
	`<msg><Content>x</Content></msg>`,
	`<xml><Content>x</Content>`,
}

func TestScanFlatAgreesWithEncodingXML(t *testing.T) {
	for _, s := range flatSamples {
		var fast wxMessage
		if !scanMessage([]byte(s), &fast) {
			t.Errorf("not read as flat: %s", s)
			continue
		}
		var std wxMessage
		if err := xml.Unmarshal([]byte(s), &std); err != nil {
			t.Fatalf("encoding/xml: %v", err)
		}
		if fmt.Sprintf("%#v", fast) != fmt.Sprintf("%#v", std) {
			t.Errorf("%s\nfast %#v\n std %#v", s, fast, std)
		}
		var env wxEnvelope
		if !scanEnvelope([]byte(s), &env) {
			t.Errorf("envelope not read as flat: %s", s)
		}
	}
	for _, s := range notFlat {
		var m wxMessage
		if scanMessage([]byte(s), &m) {
			t.Errorf("read as flat: %q", s)
		}
		// decodeMessage still decides through encoding/xml.
		_, errDecode := decodeMessage([]byte(s))
		var std wxMessage
		errStd := xml.Unmarshal([]byte(s), &std)
		if errStd != nil && errDecode == nil {
			t.Errorf("decodeMessage accepted what encoding/xml refuses: %q", s)
		}
	}
}

// FuzzDecodeMessage: whatever the fast path accepts, encoding/xml decodes
// to the same message; decodeMessage never panics.
//
//	go test -run '^$' -fuzz FuzzDecodeMessage -fuzztime 60s ./bot/
func FuzzDecodeMessage(f *testing.F) {
	for _, s := range append(append([]string{}, flatSamples...), notFlat...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeMessage(b)
		decodeEnvelope(b)
		var fast wxMessage
		if scanMessage(b, &fast) {
			var std wxMessage
			if err := xml.Unmarshal(b, &std); err != nil {
				t.Fatalf("fast path accepted what encoding/xml refuses (%v): %q", err, b)
			}
			if fmt.Sprintf("%#v", fast) != fmt.Sprintf("%#v", std) {
				t.Fatalf("%q\nfast %#v\n std %#v", b, fast, std)
			}
		}
		var env wxEnvelope
		if scanEnvelope(b, &env) {
			var std wxEnvelope
			if err := xml.Unmarshal(b, &std); err != nil || env != std {
				t.Fatalf("envelope %q: fast %#v, std %#v (%v)", b, env, std, err)
			}
		}
	})
}
