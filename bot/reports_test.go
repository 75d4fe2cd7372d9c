package bot

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/xuri/excelize/v2"

	"gridbot/flows"
	"gridbot/flows/chat"
	"gridbot/storage"
)

const reportsToken = "test-api-token"

// ledgerFixture is a real store behind the admin API, with workers and
// reports of every shipped type.
type ledgerFixture struct {
	db     *storage.DB
	srv    *httptest.Server
	voided flows.Report
}

func newLedgerFixture(t testing.TB) *ledgerFixture {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "gridbot.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, shanghai)
	api := &API{Token: reportsToken, Store: db, Now: func() time.Time { return now }}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &ledgerFixture{db: db, srv: srv}
}

func (f *ledgerFixture) get(t testing.TB, path string, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (f *ledgerFixture) body(t testing.TB, path string) []byte {
	t.Helper()
	resp := f.get(t, path, reportsToken)
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	return b
}

var ledgerWorkers = []flows.Worker{
	{OpenID: "o-li", Name: "李娟", Community: "幸福社区", Grid: "1", Role: flows.RoleWorker},
	{OpenID: "o-wang", Name: "王强", Community: "幸福社区", Grid: "2", Role: flows.RoleWorker},
	{OpenID: "o-zhao", Name: "赵敏", Community: "和平社区", Grid: "1", Role: flows.RoleWorker},
}

// seedLedger saves the reports of the ledger tests and voids one.
func (f *ledgerFixture) seedLedger(t testing.TB) []flows.Report {
	t.Helper()
	ctx := context.Background()
	for _, w := range ledgerWorkers {
		if err := f.db.PutWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	rep := func(key, worker, grid, flow, kind, day, target string, fields map[string]string, counts map[string]float64) flows.Report {
		community := "幸福社区"
		if worker == "o-zhao" {
			community = "和平社区"
		}
		return flows.Report{MsgKey: key, Worker: worker, Community: community, Grid: grid, Flow: flow, Kind: kind,
			Day: day, Target: target, Fields: fields, Counts: counts, CreatedAt: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
			Household: flow == "visit" && target != ""}
	}
	in := []flows.Report{
		rep("m1", "o-li", "1", "visit", "chronic", "2026-11-02", "3-2-201", map[string]string{"bp": "150/95", "glucose": "7.2", "note": "按时服药, \"血压\"偏高\n下周复查"}, nil),
		rep("m2", "o-wang", "2", "visit", "maternal", "2026-11-03", "5-1-102", nil, nil),
		rep("m3", "o-li", "1", "inspection", "fire", "2026-11-04", "菜市场", map[string]string{"note": "限期3天整改"}, map[string]float64{"issues_found": 3}),
		rep("m4", "o-wang", "2", "campaign", "publicity", "2026-11-05", "", nil, map[string]float64{"leaflets": 400, "participants": 35}),
		rep("m5", "o-li", "1", "campaign", "cleanup", "2026-11-06", "", nil, map[string]float64{"garbage_tons": 2.5}),
		rep("m6", "o-zhao", "1", "visit", "elderly", "2026-11-07", "9-9-909", nil, nil),                         // other community
		rep("m7", "o-li", "1", "visit", "chronic", "2026-10-31", "3-2-202", nil, nil),                           // other month
		rep("m8", "o-li", "1", "visit", "hardship", "2026-11-08", "7-1-101", nil, nil),                          // voided below
		rep("m9", "o-li", "1", "visit", "other", "2026-11-09", "4-4-404", map[string]string{"note": "门锁"}, nil), // kept
		rep("m10", "o-li", "1", "visit", "chronic", "2026-11-10", "3-2-201", nil, nil),                          // the same household again: 1 户, 2 户次
	}
	var saved []flows.Report
	for _, r := range in {
		s, _, err := f.db.SaveReport(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		saved = append(saved, s)
	}
	v, err := f.db.VoidReport(ctx, saved[7].ID, time.Date(2026, 11, 8, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	f.voided = v
	return saved
}

func TestReportsXLSX(t *testing.T) {
	f := newLedgerFixture(t)
	f.seedLedger(t)
	roster := []flows.Household{
		{Community: "幸福社区", Grid: "1", Household: "3-2-201", Tags: []string{"高血压"}},
		{Community: "幸福社区", Grid: "1", Household: "4-4-404"},
		{Community: "幸福社区", Grid: "2", Household: "5-1-102"},
		{Community: "幸福社区", Grid: "2", Household: "6-6-606"},
	}
	if _, err := f.db.PutHouseholds(context.Background(), roster); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		query       string
		sheets      map[string][][]string // sheet → rows, header first
		voidColumns bool
	}{
		{
			name:  "community month",
			query: "scope=community:幸福社区&period=2026-11",
			sheets: map[string][][]string{
				"入户走访": {
					{"日期", "网格员", "网格", "户号/地点", "类型", "血压", "血糖", "户数（去重）", "备注"},
					{"2026-11-02", "李娟", "1", "3-2-201", "慢病随访", "150/95", "7.2", "1", "按时服药, \"血压\"偏高\n下周复查"},
					{"2026-11-03", "王强", "2", "5-1-102", "孕产妇/新生儿访视", "", "", "1", ""},
					{"2026-11-09", "李娟", "1", "4-4-404", "其他", "", "", "1", "门锁"},
					{"2026-11-10", "李娟", "1", "3-2-201", "慢病随访", "", "", "", ""},
				},
				"巡查": {
					{"日期", "网格员", "网格", "户号/地点", "类型", "发现问题（处）", "位置", "照片", "备注"},
					{"2026-11-04", "李娟", "1", "菜市场", "消防安全", "3", "", "", "限期3天整改"},
				},
				"宣传活动": {
					{"日期", "网格员", "网格", "户号/地点", "类型", "资料（份）", "参与（人）", "垃圾（吨）", "备注"},
					{"2026-11-05", "王强", "2", "", "宣传", "400", "35", "", ""},
					{"2026-11-06", "李娟", "1", "", "环境清理", "", "", "2.5", ""},
				},
				// 户 (distinct households) beside 户次 (visits), as
				// /api/v1/tallies; the roster's coverage below.
				"汇总": {
					{"项目", "户", "次数", "单位"},
					{"入户走访", "3", "4", "户次"},
					{"  慢病随访", "1", "2", "户次"},
					{"  孕产妇/新生儿访视", "1", "1", "户次"},
					{"  其他", "1", "1", "户次"},
					{"巡查", "", "1", "次"},
					{"  消防安全", "", "1", "次"},
					{"  发现问题", "", "3", "处"},
					{"宣传活动", "", "2", "次"},
					{"  宣传", "", "1", "次"},
					{"  环境清理", "", "1", "次"},
					{"  资料", "", "400", "份"},
					{"  参与", "", "35", "人"},
					{"  垃圾", "", "2.5", "吨"},
					{"花名册", "4", "", "户"},
					{"已走访（花名册内）", "3", "", "户"},
					{"入户率", "75%", "", ""},
					{"高血压患者（2026年）", "1", "", "人"},
					{"  规范管理", "0", "", "人"},
					{"  规范管理率", "0%", "", ""},
					{"  随访", "", "2", "人次"},
				},
			},
		},
		{
			name:  "grid month with void",
			query: "scope=grid:幸福社区/1&period=2026-11&include_void=1",
			sheets: map[string][][]string{
				"入户走访": {
					{"日期", "网格员", "网格", "户号/地点", "类型", "血压", "血糖", "户数（去重）", "备注", "状态"},
					{"2026-11-02", "李娟", "1", "3-2-201", "慢病随访", "150/95", "7.2", "1", "按时服药, \"血压\"偏高\n下周复查", ""},
					{"2026-11-08", "李娟", "1", "7-1-101", "困难帮扶", "", "", "", "", "作废"},
					{"2026-11-09", "李娟", "1", "4-4-404", "其他", "", "", "1", "门锁", ""},
					{"2026-11-10", "李娟", "1", "3-2-201", "慢病随访", "", "", "", "", ""},
				},
				"巡查": {
					{"日期", "网格员", "网格", "户号/地点", "类型", "发现问题（处）", "位置", "照片", "备注", "状态"},
					{"2026-11-04", "李娟", "1", "菜市场", "消防安全", "3", "", "", "限期3天整改", ""},
				},
				"宣传活动": {
					{"日期", "网格员", "网格", "户号/地点", "类型", "资料（份）", "参与（人）", "垃圾（吨）", "备注", "状态"},
					{"2026-11-06", "李娟", "1", "", "环境清理", "", "", "2.5", "", ""},
				},
			},
			voidColumns: true,
		},
		{
			name:  "worker year",
			query: "scope=worker:o-zhao&period=2026",
			sheets: map[string][][]string{
				"入户走访": {
					{"日期", "网格员", "网格", "户号/地点", "类型", "血压", "血糖", "户数（去重）", "备注"},
					{"2026-11-07", "赵敏", "1", "9-9-909", "老年人探访", "", "", "1", ""},
				},
				"巡查":   {{"日期", "网格员", "网格", "户号/地点", "类型", "发现问题（处）", "位置", "照片", "备注"}},
				"宣传活动": {{"日期", "网格员", "网格", "户号/地点", "类型", "资料（份）", "参与（人）", "垃圾（吨）", "备注"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.get(t, "/api/v1/reports?"+tt.query+"&format=xlsx", reportsToken)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %s: %s", resp.Status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "spreadsheetml") {
				t.Errorf("Content-Type %q", ct)
			}
			if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
				t.Errorf("Content-Disposition %q", cd)
			}
			checkColsInOrder(t, body)
			x, err := excelize.OpenReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			if got, want := x.GetSheetList(), []string{"入户走访", "巡查", "宣传活动", "汇总"}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("sheets %v, want %v", got, want)
			}
			for sheet, want := range tt.sheets {
				rows, err := x.GetRows(sheet)
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) != len(want) {
					t.Errorf("%s: %d rows, want %d: %q", sheet, len(rows), len(want), rows)
					continue
				}
				for i := range want {
					got := append(rows[i], make([]string, len(want[i])-min(len(rows[i]), len(want[i])))...)
					if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want[i]) {
						t.Errorf("%s row %d:\n got %q\nwant %q", sheet, i+1, got, want[i])
					}
				}
				checkPrintReady(t, x, sheet, len(want[0]))
			}
			// Days are date cells (Excel sorts and filters them as dates),
			// shown as 2026-11-02.
			if raw, err := x.GetCellValue("入户走访", "A2", excelize.Options{RawCellValue: true}); err != nil {
				t.Error(err)
			} else if serial, err := strconv.ParseFloat(raw, 64); err != nil || serial < 40000 {
				t.Errorf("day cell holds %q: want a date serial number", raw)
			}
			// Counters are numbers, not text: Excel can sum them.
			if typ, err := x.GetCellType("宣传活动", "F2"); tt.name == "community month" && (err != nil || typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString) {
				t.Errorf("leaflets cell type %v, %v: want a number", typ, err)
			}
		})
	}
}

// checkColsInOrder checks that each sheet lists its <col> widths in column
// order: Excel reports a damaged file otherwise.
func checkColsInOrder(t *testing.T, xlsx []byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(xlsx), int64(len(xlsx)))
	if err != nil {
		t.Fatal(err)
	}
	colMin := regexp.MustCompile(`<col min="(\d+)"`)
	for _, zf := range zr.File {
		if !strings.HasPrefix(zf.Name, "xl/worksheets/") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		last := 0
		for _, m := range colMin.FindAllSubmatch(data, -1) {
			n, _ := strconv.Atoi(string(m[1]))
			if n <= last {
				t.Errorf("%s: <col min=%d> after %d", zf.Name, n, last)
			}
			last = n
		}
		if last == 0 {
			t.Errorf("%s: no column widths", zf.Name)
		}
	}
}

// checkPrintReady checks the header row is frozen and styled, the columns
// have widths, and the sheet prints landscape, one page wide.
func checkPrintReady(t *testing.T, x *excelize.File, sheet string, cols int) {
	t.Helper()
	panes, err := x.GetPanes(sheet)
	if err != nil || !panes.Freeze || panes.YSplit != 1 || panes.TopLeftCell != "A2" {
		t.Errorf("%s: panes %+v, %v: want the first row frozen", sheet, panes, err)
	}
	for c := 1; c <= cols; c++ {
		name, _ := excelize.ColumnNumberToName(c)
		w, err := x.GetColWidth(sheet, name)
		if err != nil || w < 8 {
			t.Errorf("%s column %s width %v, %v", sheet, name, w, err)
		}
	}
	style, err := x.GetCellStyle(sheet, "A1")
	if err != nil || style == 0 {
		t.Errorf("%s: header cell unstyled (%d, %v)", sheet, style, err)
	} else if s, err := x.GetStyle(style); err != nil || s.Font == nil || !s.Font.Bold {
		t.Errorf("%s: header font not bold: %+v %v", sheet, s, err)
	}
	layout, err := x.GetPageLayout(sheet)
	if err != nil || layout.Orientation == nil || *layout.Orientation != "landscape" ||
		layout.FitToWidth == nil || *layout.FitToWidth != 1 {
		t.Errorf("%s: page layout %+v, %v: want landscape, fit to 1 page wide", sheet, layout, err)
	}
	props, err := x.GetSheetProps(sheet)
	if err != nil || props.FitToPage == nil || !*props.FitToPage {
		t.Errorf("%s: FitToPage not set (%v)", sheet, err)
	}
}

func TestReportsCSVRoundTrip(t *testing.T) {
	f := newLedgerFixture(t)
	saved := f.seedLedger(t)
	tests := []struct {
		name  string
		query string
		ids   []int // indexes into saved, in ledger order
		void  bool
	}{
		{"community month", "scope=community:幸福社区&period=2026-11", []int{0, 1, 2, 3, 4, 8, 9}, false},
		{"with void", "scope=worker:o-li&period=2026-11&include_void=1", []int{0, 2, 4, 7, 8, 9}, true},
		{"all year", "scope=all&period=2026", []int{6, 0, 1, 2, 3, 4, 5, 8, 9}, false},
		{"a day", "scope=all&period=2026-11-05", []int{3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := f.body(t, "/api/v1/reports?"+tt.query+"&format=csv")
			rest, ok := bytes.CutPrefix(body, []byte("\xEF\xBB\xBF"))
			if !ok {
				t.Fatalf("no UTF-8 BOM: % x", body[:min(8, len(body))])
			}
			rows, err := csv.NewReader(bytes.NewReader(rest)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			header := rows[0]
			col := map[string]int{}
			for i, h := range header {
				col[h] = i
			}
			for _, h := range []string{"报告类型", "日期", "网格员", "网格", "户号/地点", "类型", "血压", "血糖", "发现问题（处）", "资料（份）", "参与（人）", "垃圾（吨）", "户数（去重）", "备注"} {
				if _, ok := col[h]; !ok {
					t.Errorf("no column %q in %q", h, header)
				}
			}
			if _, ok := col["状态"]; ok != tt.void {
				t.Errorf("状态 column present = %v, want %v", ok, tt.void)
			}
			if len(rows)-1 != len(tt.ids) {
				t.Fatalf("%d rows, want %d: %q", len(rows)-1, len(tt.ids), rows[1:])
			}
			names := map[string]string{"visit": "入户走访", "inspection": "巡查", "campaign": "宣传活动"}
			counted := map[string]bool{} // 户数（去重）: 1 on a household's first visit that is not void
			for i, idx := range tt.ids {
				r, row := saved[idx], rows[i+1]
				first := ""
				if r.Household && idx != 7 && !counted[r.Community+r.Target] {
					counted[r.Community+r.Target], first = true, "1"
				}
				want := map[string]string{
					"报告类型": names[r.Flow], "日期": r.Day, "网格": r.Grid, "户号/地点": r.Target,
					"备注": r.Fields["note"], "血压": r.Fields["bp"], "血糖": r.Fields["glucose"],
					"资料（份）": fmtCount(r.Counts, "leaflets"), "垃圾（吨）": fmtCount(r.Counts, "garbage_tons"),
					"发现问题（处）": fmtCount(r.Counts, "issues_found"), "户数（去重）": first,
				}
				for _, w := range ledgerWorkers {
					if w.OpenID == r.Worker {
						want["网格员"] = w.Name
					}
				}
				if tt.void {
					want["状态"] = map[bool]string{true: "作废", false: ""}[idx == 7]
				}
				for h, v := range want {
					if got := row[col[h]]; got != v {
						t.Errorf("row %d %s = %q, want %q", i+1, h, got, v)
					}
				}
			}
		})
	}
}

func fmtCount(c map[string]float64, k string) string {
	v, ok := c[k]
	if !ok {
		return ""
	}
	return fmt.Sprint(v)
}

func TestReportsJSON(t *testing.T) {
	f := newLedgerFixture(t)
	saved := f.seedLedger(t)
	var got struct {
		Scope   string         `json:"scope"`
		Period  string         `json:"period"`
		Reports []flows.Report `json:"reports"`
	}
	body := f.body(t, "/api/v1/reports?scope=grid:幸福社区/2&period=2026-11")
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if got.Scope != "grid:幸福社区/2" || got.Period != "2026-11" || len(got.Reports) != 2 ||
		got.Reports[0].ID != saved[1].ID || got.Reports[1].ID != saved[3].ID || got.Reports[1].Counts["leaflets"] != 400 {
		t.Errorf("got %+v", got)
	}
	// No reports: an empty list, not null.
	body = f.body(t, "/api/v1/reports?scope=community:幸福社区&period=2025-01&format=json")
	if !bytes.Contains(body, []byte(`"reports":[]`)) {
		t.Errorf("empty ledger: %s", body)
	}
	// A community no one is bound to and without reports is not found
	// (a misspelt name must not pass for a month without work).
	resp := f.get(t, "/api/v1/reports?scope=community:nowhere&period=2026-11&format=csv", reportsToken)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown community: %s, want 404", resp.Status)
	}
}

func TestReportsBadRequests(t *testing.T) {
	f := newLedgerFixture(t)
	tests := []struct {
		name, path, token string
		status            int
	}{
		{"no token", "/api/v1/reports?scope=all&period=2026", "", http.StatusUnauthorized},
		{"wrong token", "/api/v1/summary?scope=all&year=2026", "nope", http.StatusUnauthorized},
		{"bad scope", "/api/v1/reports?scope=town:x&period=2026", reportsToken, http.StatusBadRequest},
		{"no scope", "/api/v1/reports?period=2026", reportsToken, http.StatusBadRequest},
		{"bad period", "/api/v1/reports?scope=all&period=2026-13", reportsToken, http.StatusBadRequest},
		{"bad format", "/api/v1/reports?scope=all&period=2026&format=pdf", reportsToken, http.StatusBadRequest},
		{"bad include_void", "/api/v1/reports?scope=all&period=2026&include_void=maybe", reportsToken, http.StatusBadRequest},
		{"bad year", "/api/v1/summary?scope=all&year=26", reportsToken, http.StatusBadRequest},
		{"summary bad scope", "/api/v1/summary?scope=&year=2026", reportsToken, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.get(t, tt.path, tt.token)
			if resp.StatusCode != tt.status {
				b, _ := io.ReadAll(resp.Body)
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			var e struct{ Error, Code string }
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error == "" {
				t.Errorf("error body: %+v %v", e, err)
			}
		})
	}
}

// summaryYear is a year of synthetic reports whose totals are figures the
// seed documents (shared/domain) state: 1570 households visited (辖区现有
// 1570户), 350 newborn visits (新生儿…访视…近350人次), 12 health lectures
// (开展健康教育专题讲座12次), 400 leaflets (发放宣传资料400余份).
var summaryYear = []struct {
	flow, kind string
	n          int
	counts     func(i int) map[string]float64
}{
	{"visit", "chronic", 600, nil},
	{"visit", "maternal", 350, nil},
	{"visit", "floating", 271, nil}, // 流动人口271人
	{"visit", "elderly", 300, nil},
	{"visit", "other", 49, nil},
	{"inspection", "sanitation", 10, func(i int) map[string]float64 { return map[string]float64{"issues_found": 1} }}, // 清除死角垃圾10余处
	{"campaign", "lecture", 12, func(i int) map[string]float64 { return map[string]float64{"participants": 80} }},     // 培训的人员达80余人 ×12
	{"campaign", "publicity", 5, func(i int) map[string]float64 { return map[string]float64{"leaflets": 80} }},        // 5 × 80 = 400
	{"campaign", "meeting", 5, nil}, // 专题动员会议5次
}

func TestSummary(t *testing.T) {
	f := newLedgerFixture(t)
	ctx := context.Background()
	var reports []flows.Report
	for _, g := range summaryYear {
		for i := range g.n {
			n := len(reports) + 1
			r := flows.Report{
				MsgKey: fmt.Sprintf("s%d", n), Worker: fmt.Sprintf("o-%d", n%7), Community: "幸福社区", Grid: fmt.Sprint(n%5 + 1),
				Flow: g.flow, Kind: g.kind, Day: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n%365).Format(time.DateOnly),
				Target: fmt.Sprintf("%d-1-%d", n%40, n), CreatedAt: time.Now(),
			}
			if g.counts != nil {
				r.Counts = g.counts(i)
			}
			reports = append(reports, r)
		}
	}
	saveAll(t, f.db, reports)
	// Noise the summary must leave out: another community, another year,
	// a voided report.
	for i, r := range []flows.Report{
		{MsgKey: "x1", Worker: "o-x", Community: "和平社区", Grid: "1", Flow: "visit", Kind: "chronic", Day: "2025-06-01"},
		{MsgKey: "x2", Worker: "o-1", Community: "幸福社区", Grid: "1", Flow: "visit", Kind: "chronic", Day: "2026-01-01"},
		{MsgKey: "x3", Worker: "o-1", Community: "幸福社区", Grid: "1", Flow: "campaign", Kind: "publicity", Day: "2025-07-01", Counts: map[string]float64{"leaflets": 999}},
	} {
		s, _, err := f.db.SaveReport(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			if _, err := f.db.VoidReport(ctx, s.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}

	var got chat.Summary
	body := f.body(t, "/api/v1/summary?scope=community:幸福社区&year=2025")
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	wantCounts := flows.Counts{
		"visit": 1570, "visit.chronic": 600, "visit.maternal": 350, "visit.floating": 271, "visit.elderly": 300, "visit.other": 49,
		"inspection": 10, "inspection.sanitation": 10, "issues_found": 10,
		"campaign": 22, "campaign.lecture": 12, "campaign.publicity": 5, "campaign.meeting": 5,
		"participants": 960, "leaflets": 400,
	}
	if got.Scope != "community:幸福社区" || got.Year != 2025 || got.Through != "" {
		t.Errorf("scope %q year %d through %q", got.Scope, got.Year, got.Through)
	}
	if fmt.Sprint(got.Counts) != fmt.Sprint(wantCounts) {
		t.Errorf("counts\n got %v\nwant %v", got.Counts, wantCounts)
	}
	if len(got.Items) != len(wantCounts) || got.Items[0].Key != "visit" || got.Items[0].Name != "入户走访" || got.Items[0].Value != 1570 {
		t.Errorf("items %+v", got.Items)
	}
	// These visits name no household (Household unset): they are counted
	// as visits (户次) only.
	wantPara := "全年共入户走访1570户次，其中慢病随访600户次、孕产妇/新生儿访视350户次、流动人口核查271户次、老年人探访300户次、其他49户次；" +
		"开展巡查10次，其中环境卫生10次，发现问题10处；" +
		"开展宣传活动22次，其中宣传5次、讲座培训12次、会议5次，发放宣传资料400份，参与群众960人。"
	if got.Paragraph != wantPara {
		t.Errorf("paragraph\n got %s\nwant %s", got.Paragraph, wantPara)
	}

	// The running year: figures to today, and the paragraph says so.
	got = chat.Summary{}
	body = f.body(t, "/api/v1/summary?scope=community:幸福社区&year=2026")
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Through != "2026-11-28" || got.Paragraph != "2026年1月1日至11月28日，共入户走访1户次，其中慢病随访1户次。" {
		t.Errorf("2026: through %q paragraph %q", got.Through, got.Paragraph)
	}
	// A year without data says so, and names no metric.
	got = chat.Summary{}
	body = f.body(t, "/api/v1/summary?scope=community:幸福社区&year=2024")
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Paragraph != "全年暂无上报数据。" || len(got.Counts) != 0 || len(got.Items) != 0 {
		t.Errorf("2024: %+v", got)
	}
}

// saveAll saves reports from 32 goroutines, so that they share commits.
func saveAll(t testing.TB, db *storage.DB, reports []flows.Report) {
	t.Helper()
	work := make(chan flows.Report)
	errs := make(chan error, 32)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				if _, _, err := db.SaveReport(context.Background(), r); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for _, r := range reports {
		select {
		case work <- r:
		case err := <-errs:
			t.Fatal(err)
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// TestReportsConfiguredCatalog: a flow and a counter a community adds in
// its config get their own sheet, column and words in the summary.
func TestReportsConfiguredCatalog(t *testing.T) {
	var extra struct {
		Flows []flows.FlowDef `toml:"flows"`
	}
	_, err := toml.Decode(`
[[flows]]
key = "campaign"
  [[flows.counters]]
  key = "masks"
  name = "口罩"
  unit = "个"

[[flows]]
key = "safety"
name = "安全检查"
unit = "次"
words = ["安全检查"]
  [[flows.fields]]
  key = "place"
  type = "place"
  name = "地点"
  prompt = "检查地点"
  [[flows.fields]]
  key = "note"
  type = "text"
  name = "备注"
  prompt = "备注"
  optional = true
`, &extra)
	if err != nil {
		t.Fatal(err)
	}
	cat := flows.DefaultCatalog()
	if err := cat.Merge(extra.Flows); err != nil {
		t.Fatal(err)
	}
	f := newLedgerFixture(t)
	api := &API{Token: reportsToken, Store: f.db, Reminders: &Reminders{Catalog: cat, Zone: time.UTC},
		Now: func() time.Time { return time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC) }}
	srv := httptest.NewServer(api)
	defer srv.Close()
	f.srv = srv
	ctx := context.Background()
	for i, r := range []flows.Report{
		{Worker: "o-li", Flow: "campaign", Kind: "publicity", Counts: map[string]float64{"masks": 50, "leaflets": 20}},
		{Worker: "o-li", Flow: "safety", Target: "幸福小区", Fields: map[string]string{"note": "灭火器过期"}},
		{Worker: "o-li", Flow: "safety", Target: "菜市场"},
	} {
		r.MsgKey, r.Community, r.Grid, r.Day = fmt.Sprint("k", i), "幸福社区", "1", "2026-06-0"+fmt.Sprint(i+1)
		if _, _, err := f.db.SaveReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	x, err := excelize.OpenReader(bytes.NewReader(f.body(t, "/api/v1/reports?scope=all&period=2026-06&format=xlsx")))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got := fmt.Sprint(x.GetSheetList()); got != "[入户走访 巡查 宣传活动 安全检查 汇总]" {
		t.Errorf("sheets %s", got)
	}
	campaign, _ := x.GetRows("宣传活动")
	safety, _ := x.GetRows("安全检查")
	if len(campaign) != 2 || campaign[0][8] != "口罩（个）" || campaign[1][8] != "50" {
		t.Errorf("campaign %q", campaign)
	}
	if len(safety) != 3 || fmt.Sprint(safety[0]) != "[日期 网格员 网格 户号/地点 类型 备注]" || safety[1][3] != "幸福小区" || safety[1][5] != "灭火器过期" {
		t.Errorf("safety %q", safety)
	}
	var s chat.Summary
	if err := json.Unmarshal(f.body(t, "/api/v1/summary?scope=community:幸福社区&year=2026"), &s); err != nil {
		t.Fatal(err)
	}
	if want := "全年共开展宣传活动1次，其中宣传1次，发放宣传资料20份，口罩50个；开展安全检查2次。"; s.Paragraph != want {
		t.Errorf("paragraph\n got %s\nwant %s", s.Paragraph, want)
	}
}
