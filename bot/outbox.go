package bot

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outbox is the Pusher of local mode (no WeChat credentials): it keeps the
// messages pushed to each user in memory, where `gridbot chat` reads them
// through GET /local/outbox. It keeps the last PerUser messages of at most
// MaxUsers users, forgetting the least recently pushed-to user first.
type Outbox struct {
	PerUser  int // messages kept per user; 0: 100
	MaxUsers int // users kept; 0: 1000
	// Start is the sequence number after which numbering begins. Starting
	// from the clock (e.g. time.Now().UnixMicro(), exact in JSON) keeps
	// numbers growing across a restart, so a chat still polling misses nothing.
	Start uint64

	mu    sync.Mutex
	seq   uint64
	boxes map[string]*outboxQueue
}

// OutboxMessage is one pushed message. Seq grows across all users.
type OutboxMessage struct {
	Seq        uint64            `json:"seq"`
	OpenID     string            `json:"openid"`
	Kind       string            `json:"kind"` // "text" or "template"
	Text       string            `json:"text"` // the text, or the template rendered as lines "key: value"
	TemplateID string            `json:"template_id,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
	URL        string            `json:"url,omitempty"`
	At         time.Time         `json:"at"`
}

type outboxQueue struct {
	msgs []OutboxMessage
	last uint64 // seq of the newest message
}

// SendText keeps a customer-service text message.
func (o *Outbox) SendText(ctx context.Context, openID, text string) error {
	if openID == "" {
		return errors.New("outbox: empty openid")
	}
	o.add(OutboxMessage{OpenID: openID, Kind: "text", Text: text})
	return nil
}

// SendTemplate keeps a template message, rendered as "key: value" lines in
// key order for display.
func (o *Outbox) SendTemplate(ctx context.Context, openID, templateID string, data map[string]string, url string) error {
	if openID == "" {
		return errors.New("outbox: empty openid")
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(k + ": " + data[k])
	}
	d := make(map[string]string, len(data))
	for k, v := range data {
		d[k] = v
	}
	o.add(OutboxMessage{OpenID: openID, Kind: "template", Text: b.String(), TemplateID: templateID, Data: d, URL: url})
	return nil
}

func (o *Outbox) add(m OutboxMessage) {
	perUser, maxUsers := o.PerUser, o.MaxUsers
	if perUser <= 0 {
		perUser = 100
	}
	if maxUsers <= 0 {
		maxUsers = 1000
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.boxes == nil {
		o.boxes = make(map[string]*outboxQueue)
	}
	q := o.boxes[m.OpenID]
	if q == nil {
		if len(o.boxes) >= maxUsers {
			o.evictOldest()
		}
		q = &outboxQueue{}
		o.boxes[m.OpenID] = q
	}
	if o.seq < o.Start {
		o.seq = o.Start
	}
	o.seq++
	m.Seq, m.At = o.seq, time.Now()
	q.msgs = append(q.msgs, m)
	if over := len(q.msgs) - perUser; over > 0 {
		q.msgs = slices.Delete(q.msgs, 0, over)
	}
	q.last = m.Seq
}

// evictOldest forgets the user pushed to least recently. o.mu must be held.
func (o *Outbox) evictOldest() {
	var oldest string
	var min uint64
	for id, q := range o.boxes {
		if oldest == "" || q.last < min {
			oldest, min = id, q.last
		}
	}
	delete(o.boxes, oldest)
}

// Messages returns the messages kept for openID with Seq greater than after,
// oldest first.
func (o *Outbox) Messages(openID string, after uint64) []OutboxMessage {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := []OutboxMessage{}
	if q := o.boxes[openID]; q != nil {
		for _, m := range q.msgs {
			if m.Seq > after {
				out = append(out, m)
			}
		}
	}
	return out
}

// ServeHTTP answers GET /local/outbox?openid=X&after=N with the JSON list of
// X's messages after sequence number N (0 or absent: all kept).
func (o *Outbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET")
		return
	}
	openID := r.URL.Query().Get("openid")
	if openID == "" {
		writeJSONError(w, http.StatusBadRequest, "invalid", "openid is required")
		return
	}
	var after uint64
	if s := r.URL.Query().Get("after"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, "invalid", "after: want a sequence number")
			return
		}
		after = n
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(o.Messages(openID, after))
}
