package bot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gridbot/flows"
)

// Every admin endpoint refuses an over-long value with 400 naming the
// field (a 500 KB openid used to reach bbolt as a key and come back 500),
// and a roster row with one is rejected with a reason, the others imported.
func TestAPIInputLengths(t *testing.T) {
	api, store := newAPI(t)
	big := strings.Repeat("o", 500<<10)
	bigRow := strings.Repeat("o", 200<<10) // three in one body stay under 1 MiB
	long := strings.Repeat("长", 65)
	q := strings.Repeat("x", 8<<10) // under the server's 64 KB header limit
	worker := func(openid, name, community string) string {
		b, _ := json.Marshal(map[string]string{"openid": openid, "name": name, "community": community, "grid": "1", "role": "worker"})
		return string(b)
	}
	runAPICases(t, api, []apiCase{
		{"500 KB openid", "POST", "/api/v1/workers", "", worker(big, "王", "幸福社区"), 400, "openid: 500 KB long, at most 128"},
		{"long name", "POST", "/api/v1/workers", "", worker("o1", long, "幸福社区"), 400, "name: 65 characters long"},
		{"long community", "POST", "/api/v1/workers", "", worker("o1", "王", big), 400, "community"},
		{"invite community", "POST", "/api/v1/invites", "", `{"community":"` + big + `","grid":"1","role":"worker"}`, 400, "community"},
		{"invite grid", "POST", "/api/v1/invites", "", `{"community":"c","grid":"` + long + `","role":"worker"}`, 400, "grid"},
		{"tallies scope", "GET", "/api/v1/tallies?period=2026&scope=worker:" + q, "", "", 400, "scope: 8 KB long"},
		{"reports scope", "GET", "/api/v1/reports?period=2026&scope=worker:" + q, "", "", 400, "scope"},
		{"summary scope", "GET", "/api/v1/summary?year=2026&scope=community:" + q, "", "", 400, "scope"},
		{"followups scope", "GET", "/api/v1/followups?scope=worker:" + q, "", "", 400, "scope"},
		{"followup worker", "POST", "/api/v1/followups/1", "", `{"worker":"` + big + `"}`, 400, "worker"},
		{"followup reason", "POST", "/api/v1/followups/1", "", `{"close":true,"reason":"` + big + `"}`, 400, "reason"},
		{"a body over 1 MiB", "POST", "/api/v1/workers", "", worker(big+big+big, "王", "c"), 400, "body larger than"},
		{"nothing was stored", "GET", "/api/v1/workers", "", "", 200, `"workers":[]`},
	})

	// Roster rows: the long ones come back with a reason, the good one is imported.
	if err := store.PutWorker(t.Context(), flows.Worker{OpenID: "o-li", Name: "李娟", Community: "幸福社区", Grid: "1", Role: flows.RoleWorker}); err != nil {
		t.Fatal(err)
	}
	rows := []flows.HouseholdRow{
		{Line: 2, Community: "幸福社区", Grid: "1", Household: bigRow, Tags: []string{"高血压"}},
		{Line: 3, Community: bigRow, Grid: "1", Household: "3-2-201", Tags: []string{"高血压"}},
		{Line: 4, Community: "幸福社区", Grid: "1", Household: "3-2-202", Tags: []string{bigRow}},
		{Line: 5, Community: "幸福社区", Grid: "1", Household: "3-2-203", Tags: []string{"高血压"}},
	}
	body, _ := json.Marshal(map[string]any{"rows": rows})
	req := httptest.NewRequest("POST", "/api/v1/households/import", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+apiToken)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	var res flows.ImportResult
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &res) != nil {
		t.Fatalf("import: %d %.300s", rec.Code, rec.Body.String())
	}
	got := fmt.Sprint(res.Errors)
	for _, want := range []string{"{2 户号过长", "{3 社区名称过长", "{4 标签过长"} {
		if !strings.Contains(got, want) {
			t.Errorf("import errors %s: want %q", got, want)
		}
	}
	if res.Opened != 1 || len(res.Errors) != 3 {
		t.Errorf("import: opened %d, errors %v; want 1 opened", res.Opened, res.Errors)
	}
}
