package flows

import (
	"log/slog"
	"time"
)

// Engine is the conversation: it turns an Inbound into a Reply, reading and
// writing through Store and keeping each user's unfinished form in Sessions.
type Engine struct {
	Store         Store
	Sessions      KV
	Catalog       *Catalog       // report flows, kinds and counters
	Zone          *time.Location // dates and periods are local to it
	SessionPrefix string         // key prefix in Sessions, e.g. "gridbot:session:"
	SessionTTL    time.Duration  // idle time after which an unfinished form is dropped
	Log           *slog.Logger
}
