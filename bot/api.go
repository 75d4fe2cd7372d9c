package bot

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"gridbot/flows"
)

// API is the admin HTTP API under /api/v1: JSON in and out, every request
// authorised by "Authorization: Bearer <Token>". An empty Token disables
// it (every request gets 401).
type API struct {
	Token string      // the api.token of the config
	Store flows.Store // required
	Log   *slog.Logger
	Now   func() time.Time
	// Reminders runs POST /api/v1/reminders/run and gives the zone and
	// catalog of the follow-up endpoints (reminders_api.go); nil: run is 503.
	Reminders *Reminders
	// Maint runs GET /api/v1/admin/check and /admin/backup; nil: they
	// answer 501.
	Maint Maintainer
	// Batch opens a roster import's follow-ups in one transaction; nil:
	// one OpenFollowUp each.
	Batch FollowUpBatcher

	once sync.Once
	mux  *http.ServeMux
}

// routes registers every endpoint of the admin API. Endpoints added in
// other files (reports*.go, reminders*.go) are registered here too, so the
// whole API can be read in one place.
func (a *API) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/workers", a.postWorker)
	mux.HandleFunc("GET /api/v1/workers", a.getWorkers)
	mux.HandleFunc("POST /api/v1/invites", a.postInvite)
	mux.HandleFunc("GET /api/v1/tallies", a.getTallies)
	mux.HandleFunc("GET /api/v1/coverage", a.getCoverage)
	// Follow-ups, reminders and roster import (reminders_api.go).
	mux.HandleFunc("GET /api/v1/followups", a.getFollowUps)
	mux.HandleFunc("POST /api/v1/followups/{id}", a.postFollowUp)
	mux.HandleFunc("POST /api/v1/reminders/run", a.postRemindersRun)
	mux.HandleFunc("POST /api/v1/households/import", a.postHouseholdsImport)
	mux.HandleFunc("GET /api/v1/reports", a.getReports) // reports.go: ledgers (台帐)
	mux.HandleFunc("GET /api/v1/summary", a.getSummary) // reports.go: annual summary
	// Maintenance through the running server, which holds the store's lock (admin_maint.go).
	mux.HandleFunc("GET /api/v1/admin/check", a.getCheck)
	mux.HandleFunc("GET /api/v1/admin/backup", a.getBackup)
	// Go's profiler, for a bot that is slow or large (net/http/pprof).
	mux.Handle("/api/v1/admin/debug/pprof/", pprofHandler())
}

// ServeHTTP checks the bearer token and routes the request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.once.Do(func() {
		a.mux = http.NewServeMux()
		a.routes(a.mux)
	})
	if !a.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gridbot"`)
		writeJSONError(w, http.StatusUnauthorized, flows.EUnauthorized, "missing or wrong bearer token")
		return
	}
	a.mux.ServeHTTP(w, r)
}

// Protect serves h only to requests with the API's bearer token.
func (a *API) Protect(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gridbot"`)
			writeJSONError(w, http.StatusUnauthorized, flows.EUnauthorized, "missing or wrong bearer token")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// authorized compares the bearer token in constant time (over SHA-256
// digests, so that not even its length leaks).
func (a *API) authorized(r *http.Request) bool {
	if a.Token == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	g, w := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(a.Token))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *API) logger() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// workerRequest is the body of POST /api/v1/workers.
type workerRequest struct {
	OpenID    string     `json:"openid"`
	Name      string     `json:"name"`
	Community string     `json:"community"`
	Grid      string     `json:"grid"`
	Role      flows.Role `json:"role"`
}

// postWorker binds (or rebinds) a user directly: 201 with the worker.
func (a *API) postWorker(w http.ResponseWriter, r *http.Request) {
	var req workerRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	wk := flows.Worker{
		OpenID:    strings.TrimSpace(req.OpenID),
		Name:      strings.TrimSpace(req.Name),
		Community: strings.TrimSpace(req.Community),
		Grid:      strings.TrimSpace(req.Grid),
		Role:      req.Role,
		BoundAt:   a.now(),
	}
	if err := requireFields(map[string]string{"openid": wk.OpenID, "name": wk.Name, "community": wk.Community, "grid": wk.Grid}); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := checkLengths([2]string{"openid", wk.OpenID}, [2]string{"name", wk.Name}, [2]string{"community", wk.Community}, [2]string{"grid", wk.Grid}); err != nil {
		a.writeError(w, r, err)
		return
	}
	if !wk.Role.Valid() {
		a.writeError(w, r, flows.Errorf(flows.EInvalid, "role %q: want worker, supervisor or admin", wk.Role))
		return
	}
	if old, err := a.Store.Worker(r.Context(), wk.OpenID); err == nil {
		wk.BoundAt = old.BoundAt // a rebinding keeps the first binding's date
	} else if flows.ErrorCode(err) != flows.ENotFound {
		a.writeError(w, r, err)
		return
	}
	if err := a.Store.PutWorker(r.Context(), wk); err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, wk)
}

// getWorkers lists every worker: {"workers": [...]}.
func (a *API) getWorkers(w http.ResponseWriter, r *http.Request) {
	ws, err := a.Store.Workers(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if ws == nil {
		ws = []flows.Worker{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"workers": ws})
}

// inviteRequest is the body of POST /api/v1/invites.
type inviteRequest struct {
	Community     string     `json:"community"`
	Grid          string     `json:"grid"`
	Role          flows.Role `json:"role"`
	ExpiresInDays *int       `json:"expires_in_days"`
}

// Invite codes: InviteCodeLen characters of inviteAlphabet, which leaves
// out 0/O, 1/I/L and other look-alikes.
const (
	InviteCodeLen       = 6
	inviteAlphabet      = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	DefaultInviteDays   = 7
	maxInviteDays       = 365
	inviteCodeAttempts  = 5
	maxJSONBody         = 1 << 20
	defaultCheckTimeout = 2 * time.Second
)

// NewInviteCode returns a random invite code from crypto/rand.
func NewInviteCode() (string, error) {
	b := make([]byte, InviteCodeLen)
	n := big.NewInt(int64(len(inviteAlphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, n)
		if err != nil {
			return "", err
		}
		b[i] = inviteAlphabet[k.Int64()]
	}
	return string(b), nil
}

// postInvite creates a one-time invite: 201 {code, expires_at, ...}.
func (a *API) postInvite(w http.ResponseWriter, r *http.Request) {
	var req inviteRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	inv := flows.Invite{
		Community: strings.TrimSpace(req.Community),
		Grid:      strings.TrimSpace(req.Grid),
		Role:      req.Role,
	}
	if err := requireFields(map[string]string{"community": inv.Community, "grid": inv.Grid}); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := checkLengths([2]string{"community", inv.Community}, [2]string{"grid", inv.Grid}); err != nil {
		a.writeError(w, r, err)
		return
	}
	if !inv.Role.Valid() {
		a.writeError(w, r, flows.Errorf(flows.EInvalid, "role %q: want worker, supervisor or admin", inv.Role))
		return
	}
	days := DefaultInviteDays
	if req.ExpiresInDays != nil {
		days = *req.ExpiresInDays
	}
	if days < 1 || days > maxInviteDays {
		a.writeError(w, r, flows.Errorf(flows.EInvalid, "expires_in_days %d: want 1 to %d", days, maxInviteDays))
		return
	}
	inv.ExpiresAt = a.now().Add(time.Duration(days) * 24 * time.Hour).Truncate(time.Second)
	var err error
	for range inviteCodeAttempts {
		if inv.Code, err = NewInviteCode(); err != nil {
			break
		}
		err = a.Store.CreateInvite(r.Context(), inv)
		if flows.ErrorCode(err) != flows.EConflict {
			break // created, or failed for another reason than a taken code
		}
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"code":       inv.Code,
		"expires_at": inv.ExpiresAt,
		"community":  inv.Community,
		"grid":       inv.Grid,
		"role":       inv.Role,
	})
}

// scopePeriod reads the scope and period parameters of a query.
func scopePeriod(q url.Values) (flows.Scope, string, error) {
	scope, err := queryScope(q)
	if err != nil {
		return scope, "", err
	}
	period, err := flows.ParsePeriod(q.Get("period"))
	return scope, period, err
}

// getTallies answers GET /api/v1/tallies?scope=…&period=… with
// {"scope", "period", "counts"}.
func (a *API) getTallies(w http.ResponseWriter, r *http.Request) {
	scope, period, err := scopePeriod(r.URL.Query())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	counts, err := a.Store.Tally(r.Context(), scope, period)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if counts == nil {
		counts = flows.Counts{}
	}
	writeJSON(w, http.StatusOK, tallyResponse{Scope: scope.String(), Period: period, Counts: counts})
}

// getCoverage answers GET /api/v1/coverage?scope=…&period=… with the
// roster figures (flows.Coverage): 入户率 of the period and 规范管理 of its
// year, for a grid, a community or all.
func (a *API) getCoverage(w http.ResponseWriter, r *http.Request) {
	scope, period, err := scopePeriod(r.URL.Query())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	cv, err := a.Store.Coverage(r.Context(), scope, period)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, cv)
}

// tallyResponse is the body of GET /api/v1/tallies, fields in this order.
type tallyResponse struct {
	Scope  string       `json:"scope"`
	Period string       `json:"period"`
	Counts flows.Counts `json:"counts"`
}

// requireFields fails with EInvalid naming the first empty field, in name order.
func requireFields(fields map[string]string) error {
	var missing []string
	for name, v := range fields {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return flows.Errorf(flows.EInvalid, "missing %s", strings.Join(missing, ", "))
}

// decodeJSON reads one JSON object of at most 1 MiB into v, refusing
// unknown fields. Its errors are EInvalid.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return flows.Errorf(flows.EInvalid, "body larger than %d bytes", maxJSONBody)
		}
		return flows.Errorf(flows.EInvalid, "body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return flows.Errorf(flows.EInvalid, "body: want one JSON object")
	}
	return nil
}

// statusOf maps flows error codes to HTTP statuses.
var statusOf = map[string]int{
	flows.EInvalid:      http.StatusBadRequest,
	flows.ENotFound:     http.StatusNotFound,
	flows.EConflict:     http.StatusConflict,
	flows.EExpired:      http.StatusGone,
	flows.EUnauthorized: http.StatusUnauthorized,
	flows.EInternal:     http.StatusInternalServerError,
}

// writeError answers with err's code as status and JSON body. Internal
// errors are logged with the request and answered with a generic message.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := flows.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok || code == flows.EInternal {
		a.logger().Error("api: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSONError(w, http.StatusInternalServerError, flows.EInternal, "internal error")
		return
	}
	var fe *flows.Error
	msg := err.Error()
	if errors.As(err, &fe) {
		msg = fe.Message
	}
	writeJSONError(w, status, code, msg)
}

// writeJSON writes v as the JSON body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// writeJSONError writes {"error": msg, "code": code} with status.
func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": code})
}
