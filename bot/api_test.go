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

// TestAPIHouseholdsAndCoverage reads distinct households in
// /api/v1/tallies and the roster figures of /api/v1/coverage.
func TestAPIHouseholdsAndCoverage(t *testing.T) {
	api, store := newAPI(t)
	ctx := context.Background()
	if _, err := store.PutHouseholds(ctx, []flows.Household{
		{Community: "幸福社区", Grid: "3", Household: "3-2-201", Tags: []string{"高血压"}},
		{Community: "幸福社区", Grid: "3", Household: "3-2-202", Tags: []string{"糖尿病", "独居老人"}},
	}); err != nil {
		t.Fatal(err)
	}
	visit := func(msg, target, day string, kinds ...string) flows.Report {
		r := flows.Report{MsgKey: msg, Worker: "oWang", Community: "幸福社区", Grid: "3", Flow: "visit", Kind: kinds[0],
			Day: day, Target: target, Household: true, CreatedAt: api.Now()}
		if len(kinds) > 1 {
			r.Kinds = kinds
		}
		return r
	}
	reports := []flows.Report{
		visit("m1", "3-2-201", "2026-08-05", "chronic"),
		visit("m2", "3-2-201", "2026-09-05", "chronic"),
		visit("m3", "3-2-201", "2026-10-05", "chronic"),
		visit("m4", "3-2-201", "2026-11-05", "chronic", "elderly"),
		visit("m5", "3-2-201", "2026-11-06", "chronic"),
		{MsgKey: "m6", Worker: "oWang", Community: "幸福社区", Grid: "3", Flow: "visit", Kind: "other", Times: 3,
			Day: "2026-11-07", CreatedAt: api.Now()},
	}
	for _, r := range reports {
		if _, _, err := store.SaveReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	runAPICases(t, api, []apiCase{
		{"households beside visits", "GET", "/api/v1/tallies?scope=grid:幸福社区/3&period=2026-11", "", "", 200,
			`"counts":{"visit":5,"visit.chronic":2,"visit.chronic.households":1,"visit.elderly":1,"visit.elderly.households":1,"visit.households":1,"visit.other":3}`},
		{"coverage of the month", "GET", "/api/v1/coverage?scope=community:幸福社区&period=2026-11", "", "", 200,
			`{"scope":"community:幸福社区","period":"2026-11","households":2,"visited":1,"visit_rate":0.5,` +
				`"tags":{"独居老人":1,"糖尿病":1,"高血压":1},"year":"2026","managed":[` +
				`{"tag":"高血压","patients":1,"managed":1,"rate":1,"followups":5},` +
				`{"tag":"糖尿病","patients":1,"managed":0,"rate":0,"followups":0}]}`},
		{"coverage of an empty grid", "GET", "/api/v1/coverage?scope=grid:幸福社区/9&period=2026", "", "", 200,
			`"households":0,"visited":0,"visit_rate":0,"tags":{}`},
		{"coverage of a worker", "GET", "/api/v1/coverage?scope=worker:oWang&period=2026", "", "", 400, `grids, communities or all`},
		{"coverage without period", "GET", "/api/v1/coverage?scope=all", "", "", 400, `period`},
		{"the JSON ledger carries every kind", "GET", "/api/v1/reports?scope=all&period=2026-11-05", "", "", 200,
			`"kind":"chronic","day":"2026-11-05","target":"3-2-201","created_at":"2026-11-28T09:00:00Z","kinds":["chronic","elderly"],"household":true}`},
	})
	// The CSV ledger names them all in its 类型 column.
	req := httptest.NewRequest("GET", "/api/v1/reports?scope=all&period=2026-11-05&format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), ",慢病随访、老年人探访,") {
		t.Fatalf("CSV ledger: %d\n%s", rec.Code, rec.Body.String())
	}
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
