package bot

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"gridbot/flows"
	"gridbot/storage"
)

func TestAPIFollowUps(t *testing.T) {
	ctx := context.Background()
	api, store := newAPI(t)
	db := store.(*storage.DB)
	out := &Outbox{}
	api.Reminders = &Reminders{Store: db, Deliveries: db, Pusher: out, Zone: shanghai, Now: api.Now, Log: (&logBuffer{}).logger()}
	for _, w := range []flows.Worker{
		{OpenID: "w1", Name: "王芳", Community: "c1", Grid: "g1", Role: flows.RoleWorker},
		{OpenID: "w2", Name: "李娜", Community: "c1", Grid: "g1", Role: flows.RoleWorker},
		{OpenID: "w3", Name: "孙丽", Community: "c2", Grid: "g1", Role: flows.RoleWorker},
	} {
		if err := db.PutWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []flows.FollowUp{
		{Target: "3-2-201", Kind: "chronic", Worker: "w1", Due: "2026-11-01"},
		{Target: "5-1-302", Kind: "elderly", Worker: "w1", Due: "2026-12-10"},
		{Target: "6-1-101", Kind: "maternal", Worker: "w2", Due: "2026-11-20"},
	} {
		f.Community, f.Grid, f.Flow, f.Key = "c1", "g1", "visit", flows.FollowKey("c1", "visit", f.Kind, f.Target)
		if _, err := db.OpenFollowUp(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	runAPICases(t, api, []apiCase{
		{"open of a worker", "GET", "/api/v1/followups?scope=worker:w1", "", "", 200, `"target":"5-1-302","due":"2026-12-10","label":"老年人探访"}`},
		{"overdue of a worker", "GET", "/api/v1/followups?scope=worker:w1&status=overdue", "", "", 200, `"target":"3-2-201","due":"2026-11-01","label":"慢病随访","days_overdue":27}]`},
		{"overdue of the community", "GET", "/api/v1/followups?scope=community:c1&status=overdue", "", "", 200, `"worker":"w2","flow":"visit","kind":"maternal","target":"6-1-101","due":"2026-11-20","label":"孕产妇/新生儿访视","days_overdue":8}]`},
		{"none closed yet", "GET", "/api/v1/followups?scope=all&status=closed", "", "", 200, `"followups":[]`},
		{"unknown status", "GET", "/api/v1/followups?scope=all&status=late", "", "", 400, "want open, overdue or closed"},
		{"bad scope", "GET", "/api/v1/followups?scope=street:x", "", "", 400, "unknown kind"},
		{"no token", "GET", "/api/v1/followups?scope=all", "-", "", 401, "unauthorized"},

		{"move to a worker of the community", "POST", "/api/v1/followups/1", "", `{"worker":"w2"}`, 200, `"id":1,"key":"c1|visit.chronic|3-2-201","community":"c1","grid":"g1","worker":"w2"`},
		{"moved: now w2's", "GET", "/api/v1/followups?scope=worker:w2&status=overdue", "", "", 200, `"target":"3-2-201"`},
		{"move to another community's worker", "POST", "/api/v1/followups/1", "", `{"worker":"w3"}`, 400, "belongs to community"},
		{"move to nobody bound", "POST", "/api/v1/followups/1", "", `{"worker":"ghost"}`, 400, "is not bound"},
		{"close without a known reason", "POST", "/api/v1/followups/1", "", `{"close":true,"reason":"搬家"}`, 400, "want one of 迁出, 死亡, 拒绝"},
		{"close and move at once", "POST", "/api/v1/followups/1", "", `{"worker":"w1","close":true,"reason":"迁出"}`, 400, "want {"},
		{"nothing asked", "POST", "/api/v1/followups/1", "", `{}`, 400, "want {"},
		{"unknown field", "POST", "/api/v1/followups/1", "", `{"owner":"w1"}`, 400, "unknown field"},
		{"close: moved away", "POST", "/api/v1/followups/1", "", `{"close":true,"reason":"迁出"}`, 200, `"closed":true`},
		{"closed twice", "POST", "/api/v1/followups/1", "", `{"close":true,"reason":"死亡"}`, 409, "closed already"},
		{"move a closed one", "POST", "/api/v1/followups/1", "", `{"worker":"w1"}`, 409, "is closed"},
		{"unknown id", "POST", "/api/v1/followups/999", "", `{"close":true,"reason":"拒绝"}`, 404, "not_found"},
		{"bad id", "POST", "/api/v1/followups/abc", "", `{"close":true,"reason":"拒绝"}`, 400, "positive number"},
		{"closed list", "GET", "/api/v1/followups?scope=community:c1&status=closed", "", "", 200, `"reason":"迁出"`},
		{"overdue without the closed one", "GET", "/api/v1/followups?scope=worker:w2&status=overdue", "", "", 200, `"followups":[{"id":3,`},

		{"run the digest now", "POST", "/api/v1/reminders/run", "", "", 200, `{"day":"2026-11-28","sent":1,"fallback":0,"failed":0,"skipped":0}`},
		{"and again: at most one a day", "POST", "/api/v1/reminders/run", "", "", 200, `{"day":"2026-11-28","sent":0,"fallback":0,"failed":0,"skipped":1}`},
	})
	if msgs := out.Messages("w2", 0); len(msgs) != 1 || !strings.Contains(msgs[0].Text, "6-1-101 孕产妇/新生儿访视，逾期 8 天") {
		t.Fatalf("w2's pushes: %+v", msgs)
	}
	if msgs := out.Messages("w1", 0); len(msgs) != 0 {
		t.Fatalf("w1 has nothing overdue but got %+v", msgs)
	}
	bare, _ := newAPI(t)
	runAPICases(t, bare, []apiCase{
		{"run without reminders configured", "POST", "/api/v1/reminders/run", "", "", 503, "not configured"},
	})
}

// TestHouseholdsImport posts roster rows to the API of a running bot and
// then closes an imported follow-up by a visit through the webhook.
func TestHouseholdsImport(t *testing.T) {
	ctx := context.Background()
	w := newReminderWorld(t, "")
	w.bind("w1", "王芳", "阳光社区", "3", flows.RoleWorker)
	w.bind("w2", "李娜", "阳光社区", "3", flows.RoleWorker)
	w.bind("s1", "刘主任", "阳光社区", "1", flows.RoleSupervisor)
	rows := []flows.HouseholdRow{
		{Line: 2, Community: "阳光社区", Grid: "3", Household: "3-2-201", Tags: []string{"高血压"}, LastVisit: "2026-09-01"},
		{Line: 3, Community: "阳光社区", Grid: "3", Household: "5-1-302", Tags: []string{"独居老人", "糖尿病"}, LastVisit: "2026-11-01"},
		{Line: 4, Community: "阳光社区", Grid: "1", Household: "1-1-101", Tags: []string{"孕产妇"}},
		{Line: 5, Community: "阳光社区", Grid: "9", Household: "9-1-101", Tags: []string{"高血压"}},
		{Line: 6, Community: "阳光社区", Grid: "3", Household: "6-6-606", Tags: []string{"低保"}},
		{Line: 7, Community: "阳光社区", Grid: "3", Household: "7-7-707", Tags: []string{"高血压"}, LastVisit: "2026-12-01"},
		{Line: 8, Community: "阳光社区", Grid: "3", Household: "8-8-808", Tags: []string{"高血压"}, LastVisit: "2026/11/01"},
		{Line: 9, Community: "阳光社区", Grid: "3", Tags: []string{"高血压"}},
	}
	post := func(rows []flows.HouseholdRow) flows.ImportResult {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"rows": rows})
		var res flows.ImportResult
		if st := w.api("POST", "/api/v1/households/import", string(body), &res); st != 200 {
			t.Fatalf("import: status %d", st)
		}
		return res
	}
	res := post(rows)
	wantErrs := []flows.RowError{
		{Line: 5, Reason: "网格「9」还没有绑定的网格员"},
		{Line: 6, Reason: "标签「低保」没有对应的随访（可用：高血压、糖尿病、孕产妇、独居老人）"},
		{Line: 7, Reason: "上次随访日期「2026-12-01」在今天之后"},
		{Line: 8, Reason: "上次随访日期「2026/11/01」应为 YYYY-MM-DD"},
		{Line: 9, Reason: "缺少户号"},
	}
	if res.Opened != 4 || res.Unchanged != 0 || res.Roster != 3 || !slices.Equal(res.Errors, wantErrs) {
		t.Fatalf("first import: %+v", res)
	}
	due := func(scope string) []string {
		s, _ := flows.ParseScope(scope)
		fs, err := w.db.FollowUps(ctx, s, false)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range fs {
			out = append(out, f.Target+"/"+f.Kind+"@"+f.Due)
		}
		return out
	}
	want := []string{"1-1-101/maternal@2026-11-28", "3-2-201/chronic@2026-11-30", "5-1-302/elderly@2026-12-01", "5-1-302/chronic@2027-01-30"}
	if got := due("community:阳光社区"); !slices.Equal(got, want) {
		t.Fatalf("open after import: %q, want %q", got, want)
	}
	// The supervisor of grid 1 takes households there: nobody else is bound to it.
	if got := due("worker:s1"); !slices.Equal(got, want[:1]) {
		t.Fatalf("s1's: %q", got)
	}

	// The same roster again changes nothing.
	if res := post(rows[:3]); res.Opened != 0 || res.Unchanged != 4 || len(res.Errors) != 0 {
		t.Fatalf("second import: %+v", res)
	}
	// A newer roster moves a due date on, keeping the worker it was moved to.
	fs, _ := w.db.FollowUps(ctx, flows.Scope{Kind: flows.ScopeCommunity, ID: "阳光社区"}, false)
	var chronic flows.FollowUp
	for _, f := range fs {
		if f.Target == "3-2-201" {
			chronic = f
		}
	}
	other := "w1"
	if chronic.Worker == "w1" {
		other = "w2"
	}
	if st := w.api("POST", "/api/v1/followups/"+itoa(chronic.ID), `{"worker":"`+other+`"}`, nil); st != 200 {
		t.Fatalf("move: %d", st)
	}
	newer := rows[0]
	newer.LastVisit = "2026-11-20"
	if res := post([]flows.HouseholdRow{newer}); res.Opened != 1 || res.Unchanged != 0 {
		t.Fatalf("newer roster: %+v", res)
	}
	fs, _ = w.db.DueFollowUps(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: other}, "2027-12-31", 0)
	if len(fs) == 0 || fs[len(fs)-1].Target != "3-2-201" || fs[len(fs)-1].Due != "2027-02-18" {
		t.Fatalf("%s's follow-ups after the newer roster: %+v", other, fs)
	}

	// A visit reported in chat closes the imported follow-up.
	if got := w.say("w1", "走访 5-1-302 独居老人", day(2026, 11, 28, 8)); !strings.Contains(got, "下次随访 2026-12-28") {
		t.Fatalf("visit: %q", got)
	}
	want = []string{"1-1-101/maternal@2026-11-28", "5-1-302/elderly@2026-12-28", "5-1-302/chronic@2027-01-30", "3-2-201/chronic@2027-02-18"}
	if got := due("community:阳光社区"); !slices.Equal(got, want) {
		t.Fatalf("open after the visit: %q, want %q", got, want)
	}

	var tooMany struct{ Error string }
	big := make([]flows.HouseholdRow, MaxImportRows+1)
	body, _ := json.Marshal(map[string]any{"rows": big})
	if st := w.api("POST", "/api/v1/households/import", string(body), &tooMany); st != 400 || !strings.Contains(tooMany.Error, "at most") {
		t.Fatalf("too many rows: %d %q", st, tooMany.Error)
	}
}

func itoa(id uint64) string {
	b, _ := json.Marshal(id)
	return string(b)
}
