package bot

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/storage"
)

const apiToken = "admin-token-for-tests"

type apiCase struct {
	label  string
	method string
	path   string
	auth   string // Authorization header; "-" for none
	body   string
	status int
	want   string // a substring of the body
}

func newAPI(t *testing.T) (*API, flows.Store) {
	db := openDB(t)
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	return &API{Token: apiToken, Store: db, Now: func() time.Time { return now }}, db
}

func runAPICases(t *testing.T, h http.Handler, tests []apiCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			switch tt.auth {
			case "":
				req.Header.Set("Authorization", "Bearer "+apiToken)
			case "-":
			default:
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
				t.Fatalf("%s %s: %d %s\nwant %d with %q", tt.method, tt.path, rec.Code, rec.Body.String(), tt.status, tt.want)
			}
			if ct := rec.Header().Get("Content-Type"); rec.Code != 405 && !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestAPIAuth(t *testing.T) {
	api, _ := newAPI(t)
	runAPICases(t, api, []apiCase{
		{"no header", "GET", "/api/v1/workers", "-", "", 401, `"code":"unauthorized"`},
		{"wrong token", "GET", "/api/v1/workers", "Bearer nope", "", 401, `"error":"missing or wrong bearer token"`},
		{"token as prefix", "GET", "/api/v1/workers", "Bearer " + apiToken + "x", "", 401, "unauthorized"},
		{"basic scheme", "GET", "/api/v1/workers", "Basic " + apiToken, "", 401, "unauthorized"},
		{"lower-case bearer", "GET", "/api/v1/workers", "bearer " + apiToken, "", 401, "unauthorized"},
		{"right token", "GET", "/api/v1/workers", "", "", 200, `"workers":[]`},
		{"unauthorised write stores nothing", "POST", "/api/v1/workers", "Bearer x", `{"openid":"oX","name":"王","community":"c","grid":"g","role":"worker"}`, 401, "unauthorized"},
		{"still no workers", "GET", "/api/v1/workers", "", "", 200, `"workers":[]`},
	})
	disabled := &API{Store: api.Store}
	runAPICases(t, disabled, []apiCase{
		{"empty configured token refuses everything", "GET", "/api/v1/workers", "Bearer ", "", 401, "unauthorized"},
		{"even a bearer of nothing", "GET", "/api/v1/workers", "Bearer", "", 401, "unauthorized"},
	})
}

func TestAPIWorkers(t *testing.T) {
	api, store := newAPI(t)
	runAPICases(t, api, []apiCase{
		{"create", "POST", "/api/v1/workers", "", `{"openid":"oWang","name":"王芳","community":"幸福社区","grid":"3","role":"worker"}`, 201, `"openid":"oWang"`},
		{"supervisor", "POST", "/api/v1/workers", "", `{"openid":"oLi","name":"李强","community":"幸福社区","grid":"1","role":"supervisor"}`, 201, `"role":"supervisor"`},
		{"missing name", "POST", "/api/v1/workers", "", `{"openid":"oX","community":"c","grid":"g","role":"worker"}`, 400, `"error":"missing name"`},
		{"missing several", "POST", "/api/v1/workers", "", `{"openid":" ","role":"worker"}`, 400, `missing community, grid, name, openid`},
		{"missing role", "POST", "/api/v1/workers", "", `{"openid":"oX","name":"n","community":"c","grid":"g"}`, 400, `role \"\"`},
		{"bad role", "POST", "/api/v1/workers", "", `{"openid":"oX","name":"n","community":"c","grid":"g","role":"boss"}`, 400, `role \"boss\"`},
		{"unknown field", "POST", "/api/v1/workers", "", `{"openid":"oX","name":"n","community":"c","grid":"g","role":"worker","age":3}`, 400, `unknown field`},
		{"malformed JSON", "POST", "/api/v1/workers", "", `{"openid":`, 400, `"code":"invalid"`},
		{"two objects", "POST", "/api/v1/workers", "", `{"openid":"oX","name":"n","community":"c","grid":"g","role":"worker"}{}`, 400, `one JSON object`},
		{"wrong method", "DELETE", "/api/v1/workers", "", "", 405, ""},
		{"list", "GET", "/api/v1/workers", "", "", 200, `"name":"王芳"`},
	})
	ws, err := store.Workers(context.Background())
	if err != nil || len(ws) != 2 {
		t.Fatalf("stored %d workers (%v), want 2", len(ws), err)
	}
	w, err := store.Worker(context.Background(), "oWang")
	if err != nil || w.Community != "幸福社区" || w.Grid != "3" || w.Role != flows.RoleWorker || !w.BoundAt.Equal(api.Now()) {
		t.Fatalf("stored %+v, %v", w, err)
	}
}

func TestAPIInvites(t *testing.T) {
	api, store := newAPI(t)
	now := api.Now()
	tests := []struct {
		label   string
		body    string
		status  int
		want    string
		expires time.Time
	}{
		{"default 7 days", `{"community":"幸福社区","grid":"3","role":"worker"}`, 201, `"code":"`, now.Add(7 * 24 * time.Hour)},
		{"30 days", `{"community":"幸福社区","grid":"3","role":"supervisor","expires_in_days":30}`, 201, `"role":"supervisor"`, now.Add(30 * 24 * time.Hour)},
		{"zero days", `{"community":"c","grid":"g","role":"worker","expires_in_days":0}`, 400, "expires_in_days 0", time.Time{}},
		{"too many days", `{"community":"c","grid":"g","role":"worker","expires_in_days":1000}`, 400, "expires_in_days 1000", time.Time{}},
		{"missing grid", `{"community":"c","role":"worker"}`, 400, "missing grid", time.Time{}},
		{"bad role", `{"community":"c","grid":"g","role":"mayor"}`, 400, `role \"mayor\"`, time.Time{}},
	}
	codeRE := regexp.MustCompile(`^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$`)
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/v1/invites", strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+apiToken)
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, req)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
				t.Fatalf("%d %s, want %d with %q", rec.Code, rec.Body.String(), tt.status, tt.want)
			}
			if tt.status != 201 {
				return
			}
			var got struct {
				Code      string    `json:"code"`
				ExpiresAt time.Time `json:"expires_at"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if !codeRE.MatchString(got.Code) || !got.ExpiresAt.Equal(tt.expires) {
				t.Fatalf("code %q expires %v, want 6 unambiguous characters and %v", got.Code, got.ExpiresAt, tt.expires)
			}
			// The code is real: it binds a user once, then is used up.
			w, err := store.RedeemInvite(context.Background(), got.Code, "oNew"+got.Code, "新人", now)
			if err != nil || w.Community != "幸福社区" || w.Grid != "3" {
				t.Fatalf("redeem: %+v, %v", w, err)
			}
			if _, err := store.RedeemInvite(context.Background(), got.Code, "oOther", "别人", now); flows.ErrorCode(err) != flows.EConflict {
				t.Fatalf("second redeem: %v", err)
			}
		})
	}
}

func TestNewInviteCode(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		c, err := NewInviteCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != InviteCodeLen || strings.ContainsAny(c, "01ILO") {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 1990 { // 31^6 ≈ 8.9e8 codes: collisions among 2000 are rare
		t.Fatalf("only %d distinct codes of 2000", len(seen))
	}
}

func TestAPITallies(t *testing.T) {
	api, store := newAPI(t)
	ctx := context.Background()
	reports := []flows.Report{
		{MsgKey: "m1", Worker: "oWang", Community: "幸福社区", Grid: "3", Flow: "visit", Kind: "chronic", Day: "2026-11-05"},
		{MsgKey: "m2", Worker: "oWang", Community: "幸福社区", Grid: "3", Flow: "campaign", Kind: "publicity", Day: "2026-11-06", Counts: map[string]float64{"leaflets": 400, "participants": 35}},
		{MsgKey: "m3", Worker: "oLi", Community: "幸福社区", Grid: "1", Flow: "visit", Kind: "elderly", Day: "2026-10-30"},
	}
	for _, r := range reports {
		r.CreatedAt = api.Now()
		if _, _, err := store.SaveReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	runAPICases(t, api, []apiCase{
		{"worker month", "GET", "/api/v1/tallies?scope=worker:oWang&period=2026-11", "", "", 200,
			`{"scope":"worker:oWang","period":"2026-11","counts":{"campaign":1,"campaign.publicity":1,"leaflets":400,"participants":35,"visit":1,"visit.chronic":1}}`},
		{"grid day", "GET", "/api/v1/tallies?scope=grid:幸福社区/3&period=2026-11-05", "", "", 200, `"counts":{"visit":1,"visit.chronic":1}`},
		{"community year", "GET", "/api/v1/tallies?scope=community:幸福社区&period=2026", "", "", 200, `"visit":2`},
		{"all, empty period", "GET", "/api/v1/tallies?scope=all&period=2025", "", "", 200, `"counts":{}`},
		{"unknown scope kind", "GET", "/api/v1/tallies?scope=street:x&period=2026", "", "", 400, `unknown kind`},
		{"grid without community", "GET", "/api/v1/tallies?scope=grid:3&period=2026", "", "", 400, `"code":"invalid"`},
		{"no scope", "GET", "/api/v1/tallies?period=2026", "", "", 400, `"code":"invalid"`},
		{"bad period", "GET", "/api/v1/tallies?scope=all&period=2026-13", "", "", 400, `want YYYY, YYYY-MM or YYYY-MM-DD`},
		{"no period", "GET", "/api/v1/tallies?scope=all", "", "", 400, `period`},
	})
}

func TestAPIErrorStatuses(t *testing.T) {
	var logs logBuffer
	api := &API{Log: logs.logger()}
	tests := []struct {
		err    error
		status int
		body   string
	}{
		{flows.Errorf(flows.EInvalid, "bad x"), 400, `"error":"bad x"`},
		{flows.Errorf(flows.ENotFound, "no worker oA"), 404, `"code":"not_found"`},
		{flows.Errorf(flows.EConflict, "code used"), 409, `"code":"conflict"`},
		{flows.Errorf(flows.EExpired, "code expired"), 410, `"code":"expired"`},
		{flows.Errorf(flows.EInternal, "bolt: secret path /var/x"), 500, `"error":"internal error"`},
		{errors.New("disk on fire"), 500, `"error":"internal error"`},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		api.writeError(rec, httptest.NewRequest("GET", "/api/v1/x", nil), tt.err)
		if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.body) {
			t.Errorf("%v → %d %s, want %d with %s", tt.err, rec.Code, rec.Body.String(), tt.status, tt.body)
		}
		if tt.status == 500 && strings.Contains(rec.Body.String(), "disk") {
			t.Errorf("internal detail leaked: %s", rec.Body.String())
		}
	}
	if out := logs.String(); !strings.Contains(out, "disk on fire") || !strings.Contains(out, "secret path") || strings.Contains(out, "bad x") {
		t.Errorf("logged %q: want the internal errors only", out)
	}
}

func TestHealth(t *testing.T) {
	db := openDB(t)
	redisClient := testRedis(t)
	tests := []struct {
		label  string
		checks map[string]func(context.Context) error
		status int
		want   string
	}{
		{"storage and redis", map[string]func(context.Context) error{
			"storage": db.Ping,
			"redis":   func(ctx context.Context) error { return redisClient.Ping(ctx).Err() },
		}, 200, `{"status":"ok"}`},
		{"no checks", nil, 200, `"ok"`},
		{"redis down", map[string]func(context.Context) error{
			"storage": db.Ping,
			"redis":   func(ctx context.Context) error { return errors.New("dial tcp: connection refused") },
		}, 503, `"failed":["redis"]`},
		{"check hangs", map[string]func(context.Context) error{
			"storage": func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
		}, 503, `"failed":["storage"]`},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			h := &Health{Checks: tt.checks, Timeout: 100 * time.Millisecond, Log: (&logBuffer{}).logger()}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
				t.Fatalf("%d %s, want %d with %s", rec.Code, rec.Body.String(), tt.status, tt.want)
			}
		})
	}
	// A closed store is unhealthy.
	db2 := openDB(t)
	db2.Close()
	h := &Health{Checks: map[string]func(context.Context) error{"storage": db2.Ping}, Log: (&logBuffer{}).logger()}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 503 {
		t.Fatalf("closed store: %d %s", rec.Code, rec.Body.String())
	}
}

// TestAPIMaintenanceIsWired: check and backup work only through the
// explicit Maint field, never by probing the Store's type.
func TestAPIMaintenanceIsWired(t *testing.T) {
	api, store := newAPI(t)
	runAPICases(t, api, []apiCase{
		{"check without Maint", "GET", "/api/v1/admin/check", "", "", 501, "cannot be checked"},
		{"backup without Maint", "GET", "/api/v1/admin/backup", "", "", 501, "cannot be backed up"},
	})
	api2 := &API{Token: apiToken, Store: store, Maint: store.(*storage.DB)}
	runAPICases(t, api2, []apiCase{
		{"check with Maint", "GET", "/api/v1/admin/check", "", "", 200, `"diffs":[]`},
	})
}
