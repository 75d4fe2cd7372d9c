package bot

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"gridbot/flows"
)

// The webhook's checks of a request: signature and timestamp, body size,
// safe mode's envelope, plain mode's replays.

// DecodeAESKey decodes a 43-character EncodingAESKey into the 32-byte AES key.
func DecodeAESKey(encodingAESKey string) ([]byte, error) {
	if len(encodingAESKey) != 43 {
		return nil, fmt.Errorf("encoding_aes_key: want 43 characters, got %d", len(encodingAESKey))
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("encoding_aes_key: not valid base64 of a 32-byte key")
	}
	return key, nil
}

// checkQuery verifies signature and timestamp; it returns why they fail, or "".
func (wh *Webhook) checkQuery(q url.Values) string {
	sig, ts, nonce := q.Get("signature"), q.Get("timestamp"), q.Get("nonce")
	if sig == "" || ts == "" || nonce == "" {
		return "missing signature, timestamp or nonce"
	}
	if want := signature(wh.cfg.Token, ts, nonce); !want.matches(sig) {
		return "bad signature"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "bad timestamp"
	}
	skew := wh.now().Sub(time.Unix(sec, 0))
	if skew > wh.cfg.MaxSkew || skew < -wh.cfg.MaxSkew {
		return "timestamp outside the allowed window"
	}
	return ""
}

// checkReplay refuses a plain-mode request whose signed query was already
// used with another body within the timestamp window: in plain mode only
// the query is signed, so a captured one could carry any message. The
// same query with the same body is WeChat retrying (or a replay of a
// message already handled, which its dedupe key answers from the cache).
// The signature, which stands for (timestamp, nonce), is kept in the
// reply store, so every node sees it when that is Redis. A store failure
// lets the request through: the signature and window checks still hold.
func (wh *Webhook) checkReplay(ctx context.Context, q url.Values, body []byte) string {
	ctx, cancel := context.WithTimeout(ctx, kvTimeout)
	defer cancel()
	key := wh.cfg.ReplyPrefix + "sig:" + q.Get("signature")
	sum := sha256.Sum256(body)
	seen, err := wh.cfg.Replies.Get(ctx, key)
	switch {
	case err == nil:
		if subtle.ConstantTimeCompare(seen, sum[:]) != 1 {
			return "signed query reused with another body"
		}
		return ""
	case flows.ErrorCode(err) != flows.ENotFound:
		wh.log.Warn("wechat: replay check unavailable", "err", err)
		return ""
	}
	// Kept for the whole window on both sides of now.
	if err := wh.cfg.Replies.Set(ctx, key, sum[:], 2*wh.cfg.MaxSkew); err != nil {
		wh.log.Warn("wechat: cannot record the request signature", "err", err)
	}
	return ""
}

// sigHex is a signature in lowercase hex.
type sigHex [2 * sha1.Size]byte

// signature is WeChat's signature of parts, as util.Signature computes it
// (the SHA-1 of the parts sorted and joined), without allocating for the
// short parts of a request's signature. It sorts parts in place.
func signature(parts ...string) sigHex {
	slices.Sort(parts)
	var stack [128]byte
	buf := stack[:0]
	for _, p := range parts {
		buf = append(buf, p...)
	}
	sum := sha1.Sum(buf)
	var h sigHex
	hex.Encode(h[:], sum[:])
	return h
}

// matches compares got with h in constant time.
func (h *sigHex) matches(got string) bool {
	if len(got) != len(h) {
		return false
	}
	var v byte
	for i := range h {
		v |= got[i] ^ h[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}

// readBody reads at most MaxBody bytes into *buf, which it grows as
// needed; status is 0 on success.
func (wh *Webhook) readBody(w http.ResponseWriter, r *http.Request, buf *[]byte) (status int, reason string) {
	if r.ContentLength > wh.cfg.MaxBody {
		return http.StatusRequestEntityTooLarge, "body too large"
	}
	b := (*buf)[:0]
	if size := int(r.ContentLength) + bytes.MinRead; cap(b) < size {
		b = make([]byte, 0, size)
	}
	body := http.MaxBytesReader(w, r.Body, wh.cfg.MaxBody)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			*buf = b
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return http.StatusRequestEntityTooLarge, "body too large"
			}
			return http.StatusBadRequest, "cannot read body"
		}
	}
	*buf = b
	return 0, ""
}

// open checks msg_signature over a safe-mode body and decrypts it. It
// returns the message XML and the envelope's ToUserName.
func (wh *Webhook) open(q url.Values, body []byte) (plain []byte, account string, status int, reason string) {
	if wh.aesKey == nil {
		return nil, "", http.StatusBadRequest, "safe mode request but no EncodingAESKey configured"
	}
	msgSig := q.Get("msg_signature")
	if msgSig == "" {
		return nil, "", http.StatusUnauthorized, "missing msg_signature"
	}
	env, err := decodeEnvelope(body)
	if err != nil || env.Encrypt == "" {
		return nil, "", http.StatusBadRequest, "malformed safe mode envelope"
	}
	if want := signature(wh.cfg.Token, q.Get("timestamp"), q.Get("nonce"), env.Encrypt); !want.matches(msgSig) {
		return nil, "", http.StatusUnauthorized, "bad msg_signature"
	}
	ciphertext, err := base64.StdEncoding.DecodeString(env.Encrypt)
	if err != nil {
		return nil, "", http.StatusBadRequest, "Encrypt is not base64"
	}
	_, plain, appID, err := util.AESDecryptMsg(ciphertext, wh.aesKey)
	if err != nil {
		return nil, "", http.StatusBadRequest, "cannot decrypt"
	}
	if subtle.ConstantTimeCompare(appID, []byte(wh.cfg.AppID)) != 1 {
		return nil, "", http.StatusBadRequest, "AppID mismatch"
	}
	return plain, env.ToUserName, 0, ""
}
