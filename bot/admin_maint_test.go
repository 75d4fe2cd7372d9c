package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"gridbot/flows"
	"gridbot/storage"
	"gridbot/storage/storagetest"
)

// A page damaged under the running bot: GET /api/v1/admin/check answers
// (no dropped connection) with the damage and what to do, and /healthz
// says 503 from then on.
func TestAdminCheckDamagedStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gridbot.db")
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 200 {
		_, _, err := db.SaveReport(ctx, flows.Report{MsgKey: fmt.Sprint("m", i), Worker: "o-li", Community: "幸福社区", Grid: "1",
			Flow: "visit", Kind: "chronic", Day: fmt.Sprintf("2026-11-%02d", i%28+1), Target: fmt.Sprintf("3-2-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	id, size := storagetest.DataPage(t, path)
	db, err = storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	api := &API{Token: apiToken, Store: db, Maint: db, Log: (&logBuffer{}).logger()}
	health := &Health{Checks: []HealthCheck{{Name: "storage", Check: db.Ping}}, Log: (&logBuffer{}).logger()}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", api)
	mux.Handle("/healthz", health)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+apiToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v (connection dropped)", path, err)
		}
		defer resp.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, fmt.Sprint(v)
	}
	if code, body := get("/api/v1/admin/check"); code != 200 || !strings.Contains(body, "diffs:[]") {
		t.Fatalf("check of a sound store: %d %s", code, body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("healthz of a sound store: %d", code)
	}

	storagetest.OverwritePage(t, path, id, size)
	code, body := get("/api/v1/admin/check")
	if code != 500 || !strings.Contains(body, "check_failed") || !strings.Contains(body, path+" is damaged") || !strings.Contains(body, "restore the latest backup") {
		t.Errorf("check of a damaged store: %d %s", code, body)
	}
	if code, body := get("/healthz"); code != 503 || !strings.Contains(body, "storage status:failed") {
		t.Errorf("healthz of a damaged store: %d %s", code, body)
	}
	// No backup of a damaged store: its copy would be damaged too.
	if code, body := get("/api/v1/admin/backup"); code != 500 || !strings.Contains(body, "backup_failed") || !strings.Contains(body, "is damaged") {
		t.Errorf("backup of a damaged store: %d %s", code, body)
	}
}
