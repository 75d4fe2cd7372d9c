package bot

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WeChat's message XML is flat: <xml>, then child elements holding text or
// one CDATA section each, then </xml>. scanFlat reads exactly that shape in
// one pass without allocating, about ten times faster than encoding/xml
// (BenchmarkDecode). Anything else (a prolog, attributes, comments, nested
// elements, entities, carriage returns, characters XML forbids, several
// CDATA sections in one element) makes it return false, and the caller
// falls back to encoding/xml, which then decides. FuzzDecodeMessage checks
// that whatever scanFlat accepts, encoding/xml decodes to the same values.

// scanFlat calls fn with each child element's name and content, in order.
// It returns false when the document is not of the flat shape.
func scanFlat(b []byte, fn func(name, val []byte)) bool {
	b = trimSpace(b)
	if !bytes.HasPrefix(b, []byte("<xml>")) {
		return false
	}
	b = b[len("<xml>"):]
	for {
		b = trimSpace(b)
		if bytes.HasPrefix(b, []byte("</xml>")) {
			return true
		}
		if len(b) < 2 || b[0] != '<' {
			return false
		}
		end := bytes.IndexByte(b, '>')
		if end < 0 {
			return false
		}
		name := b[1:end]
		if !validName(name) {
			return false
		}
		b = b[end+1:]
		var val []byte
		if bytes.HasPrefix(b, []byte("<![CDATA[")) {
			b = b[len("<![CDATA["):]
			end := bytes.Index(b, []byte("]]>"))
			if end < 0 {
				return false
			}
			val, b = b[:end], b[end+len("]]>"):]
		} else {
			end := bytes.IndexByte(b, '<')
			if end < 0 {
				return false
			}
			val, b = b[:end], b[end:]
			if bytes.IndexByte(val, '&') >= 0 || bytes.Contains(val, []byte("]]>")) {
				return false
			}
		}
		if !validChars(val) {
			return false
		}
		// The closing tag must follow at once: "</" name ">".
		if len(b) < len(name)+3 || b[0] != '<' || b[1] != '/' || !bytes.Equal(b[2:2+len(name)], name) || b[2+len(name)] != '>' {
			return false
		}
		b = b[len(name)+3:]
		fn(name, val)
	}
}

// validName accepts the element names WeChat uses: ASCII letters, digits
// and underscores, starting with a letter or underscore.
func validName(n []byte) bool {
	if len(n) == 0 {
		return false
	}
	for i, c := range n {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// validChars reports whether v holds only characters XML allows and no
// carriage return (which encoding/xml would normalise).
func validChars(v []byte) bool {
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError && size == 1 || r > 0xD7FF && r < 0xE000 || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += size
	}
	return true
}

// trimSpace drops XML whitespace at both ends.
func trimSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// scanMessage fills m from flat XML; false: not flat, or a number field
// that encoding/xml would refuse.
func scanMessage(b []byte, m *wxMessage) bool {
	ok := true
	flat := scanFlat(b, func(name, v []byte) {
		var err error
		switch string(name) {
		case "ToUserName":
			m.ToUserName = string(v)
		case "FromUserName":
			m.FromUserName = string(v)
		case "CreateTime":
			m.CreateTime, err = parseInt(v)
		case "MsgType":
			m.MsgType = string(v)
		case "MsgId":
			m.MsgID, err = parseInt(v)
		case "Content":
			m.Content = string(v)
		case "Recognition":
			m.Recognition = string(v)
		case "PicUrl":
			m.PicURL = string(v)
		case "MediaId":
			m.MediaID = string(v)
		case "Location_X":
			m.LocationX, err = parseFloat(v)
		case "Location_Y":
			m.LocationY, err = parseFloat(v)
		case "Label":
			m.Label = string(v)
		case "Event":
			m.Event = string(v)
		case "EventKey":
			m.EventKey = string(v)
		case "Latitude":
			m.Latitude = string(v)
		case "Longitude":
			m.Longitude = string(v)
		case "Status":
			m.Status = string(v)
		}
		if err != nil {
			ok = false
		}
	})
	return flat && ok
}

// parseInt and parseFloat read numbers as encoding/xml does: no content
// is zero, anything else is trimmed and parsed.
func parseInt(v []byte) (int64, error) {
	if len(v) == 0 {
		return 0, nil
	}
	return strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
}

func parseFloat(v []byte) (float64, error) {
	if len(v) == 0 {
		return 0, nil
	}
	return strconv.ParseFloat(strings.TrimSpace(string(v)), 64)
}

// scanEnvelope fills env from a flat safe-mode body.
func scanEnvelope(b []byte, env *wxEnvelope) bool {
	return scanFlat(b, func(name, v []byte) {
		switch string(name) {
		case "ToUserName":
			env.ToUserName = string(v)
		case "Encrypt":
			env.Encrypt = string(v)
		}
	})
}
