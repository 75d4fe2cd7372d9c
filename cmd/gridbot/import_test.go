package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"gridbot/bot"
	"gridbot/flows"
	"gridbot/storage"
)

func TestRosterDate(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"", "", ""},
		{"2026-09-01", "2026-09-01", ""},
		{"2026-9-1", "2026-09-01", ""},
		{"2026/9/1", "2026-09-01", ""},
		{"2026.09.01", "2026-09-01", ""},
		{"2026年9月1日", "2026-09-01", ""},
		{"20260901", "2026-09-01", ""},
		{"2026-09-01 10:30:00", "2026-09-01", ""},
		{"46266", "2026-09-01", ""}, // Excel serial date
		{"46266.5", "2026-09-01", ""},
		{"2026-02-30", "", "无法识别"},
		{"九月一日", "", "无法识别"},
		{"12", "", "无法识别"},
		{"20261301", "", "无法识别"},
	}
	for _, c := range cases {
		got, err := rosterDate(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %q, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestParseRoster(t *testing.T) {
	const today = "2026-11-28"
	csvOf := func(lines ...string) rosterTable {
		tab, err := parseCSV([]byte(strings.Join(lines, "\r\n")))
		if err != nil {
			t.Fatal(err)
		}
		return tab
	}
	gbk, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte("户号,姓名,网格,标签,上次随访日期\n3-2-201,张三,3,高血压,2026-09-01\n"))
	if err != nil {
		t.Fatal(err)
	}
	gbkTable, err := parseCSV(gbk)
	if err != nil {
		t.Fatal(err)
	}
	bom, _ := parseCSV([]byte("\xef\xbb\xbf户号,姓名,网格,标签,上次随访日期\n3-2-201,张三,3,高血压,2026-09-01\n"))
	cases := []struct {
		label     string
		table     rosterTable
		community string
		rows      []string // community/grid/household/tags/last@line
		bad       []flows.RowError
		err       string
	}{
		{"plain", csvOf("户号,姓名,网格,标签,上次随访日期", "3号楼2单元201室,张三,3,高血压、糖尿病,2026/9/1"), "阳光社区",
			[]string{"阳光社区/3/3-2-201/高血压+糖尿病/2026-09-01@2"}, nil, ""},
		{"GB18030 from Excel", gbkTable, "阳光社区", []string{"阳光社区/3/3-2-201/高血压/2026-09-01@2"}, nil, ""},
		{"UTF-8 with BOM", bom, "阳光社区", []string{"阳光社区/3/3-2-201/高血压/2026-09-01@2"}, nil, ""},
		{"title rows, other order, 社区 column, blank lines", csvOf(
			"阳光社区重点人群花名册,,,,,",
			"制表：社区卫生服务站,,,,,",
			"序号,标签,所属社区,户号,户主姓名,网格,上次随访",
			"1,独居老人,阳光社区,5栋1单元302,李四,4,",
			",,,,,,",
			"2,孕产妇,幸福社区,6-1-101,王五,1,2026年11月20日",
		), "", []string{"阳光社区/4/5-1-302/独居老人/@4", "幸福社区/1/6-1-101/孕产妇/2026-11-20@6"}, nil, ""},
		{"bad rows with their lines", csvOf(
			"户号,姓名,网格,标签,上次随访日期",
			"3-2-201,张三,3,高血压,2026-09-01",
			",李四,3,高血压,2026-09-01",
			"张家村12号,王五,3,高血压,",
			"3-2-202,赵六,,高血压,",
			"3-2-203,钱七,3,,",
			"3-2-204,孙八,3,低保 残疾,",
			"3-2-205,周九,3,高血压,2026-12-01",
			"3-2-206,吴十,3,高血压,去年",
			"3栋2单元201,郑一,3,糖尿病,",
			"3-2-207,冯二,3,残疾 高血压,2026-11-28",
		), "阳光社区", []string{"阳光社区/3/3-2-201/高血压/2026-09-01@2", "阳光社区/3/3-2-207/残疾+高血压/2026-11-28@11"},
			[]flows.RowError{
				{Line: 3, Reason: "缺少户号"},
				{Line: 4, Reason: "户号「张家村12号」无法识别（如 3-2-201、3号楼2单元201室）"},
				{Line: 5, Reason: "缺少网格"},
				{Line: 6, Reason: "缺少标签（高血压、糖尿病、孕产妇、独居老人）"},
				{Line: 7, Reason: "标签「低保、残疾」没有对应的随访（可用：高血压、糖尿病、孕产妇、独居老人）"},
				{Line: 8, Reason: "上次随访日期 2026-12-01 在今天之后"},
				{Line: 9, Reason: "上次随访日期「去年」无法识别（如 2026-11-05）"},
				{Line: 10, Reason: "户号 3-2-201 与第 2 行重复"},
			}, ""},
		{"a quoted cell over two lines keeps the file's line numbers", csvOf(
			"户号,姓名,网格,标签,上次随访日期",
			`3-2-201,"张三`, `(户主)",3,高血压,`,
			"3-2-202,李四,3,,",
		), "阳光社区", []string{"阳光社区/3/3-2-201/高血压/@2"}, []flows.RowError{{Line: 4, Reason: "缺少标签（高血压、糖尿病、孕产妇、独居老人）"}}, ""},
		{"no header", csvOf("3-2-201,张三,3,高血压,2026-09-01"), "阳光社区", nil, nil, "找不到表头"},
		{"no grid column", csvOf("户号,姓名,标签", "3-2-201,张三,高血压"), "阳光社区", nil, nil, "表头缺少「网格」列"},
		{"no community at all", csvOf("户号,姓名,网格,标签", "3-2-201,张三,3,高血压"), "", nil, nil, "-community"},
	}
	for _, c := range cases {
		t.Run(c.label, func(t *testing.T) {
			rows, bad, err := parseRoster(c.table, c.community, today)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, r.Community+"/"+r.Grid+"/"+r.Household+"/"+strings.Join(r.Tags, "+")+"/"+r.LastVisit+"@"+strconv.Itoa(r.Line))
			}
			if !slices.Equal(got, c.rows) {
				t.Errorf("rows %q\nwant %q", got, c.rows)
			}
			if !slices.Equal(bad, c.bad) {
				t.Errorf("bad %v\nwant %v", bad, c.bad)
			}
		})
	}
}

// recordingServer runs the admin API on a real store on loopback and
// keeps every request body it received.
type recordingServer struct {
	url    string
	db     *storage.DB
	mu     sync.Mutex
	bodies []string
}

func newRecordingServer(t *testing.T, token string) *recordingServer {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "gridbot.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	rs := &recordingServer{db: db}
	api := &bot.API{Token: token, Store: db, Batch: db, Reminders: &bot.Reminders{Zone: zone}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rs.mu.Lock()
		rs.bodies = append(rs.bodies, string(b))
		rs.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		api.ServeHTTP(w, r)
	})}
	ts := newLoopback(t, srv)
	rs.url = ts
	return rs
}

func newLoopback(t *testing.T, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// writeRosterXLSX writes a roster as Excel would: a title row, the header,
// real date cells and a resident's name in every row.
func writeRosterXLSX(t *testing.T, path string) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sh := f.GetSheetName(0)
	rows := [][]any{
		{"阳光社区重点人群花名册"},
		{"户号", "姓名", "网格", "标签", "上次随访日期"},
		{"3号楼2单元201室", "张三丰", "3", "高血压、糖尿病", time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)},
		{"5栋1单元302", "李四海", "3", "独居老人", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"6-1-101", "王五岳", "3", "孕产妇", ""},
		{"7-1-101", "赵六合", "9", "高血压", "2026-10-01"},
		{"8-1-101", "钱七星", "3", "低保", ""},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sh, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	style, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		t.Fatal(err)
	}
	f.SetCellStyle(sh, "E3", "E4", style)
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
}

func TestImportHouseholds(t *testing.T) {
	ctx := context.Background()
	const token = "import-test-token"
	rs := newRecordingServer(t, token)
	for _, w := range []flows.Worker{
		{OpenID: "w1", Name: "网格员甲", Community: "阳光社区", Grid: "3", Role: flows.RoleWorker},
	} {
		if err := rs.db.PutWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	xlsx := filepath.Join(dir, "花名册.xlsx")
	writeRosterXLSX(t, xlsx)
	common := []string{"-community", "阳光社区", "-server", rs.url, "-token", token}

	type run struct {
		label  string
		args   []string
		err    error // errors.Is target; nil: success
		stdout []string
		stderr []string
		sent   int // requests the server got in this run
	}
	runs := []run{
		{"help", []string{"households", "-help"}, flag.ErrHelp, nil, []string{"Usage:", "上次随访日期", "-dry-run"}, 0},
		{"no kind", nil, errExit1, nil, []string{"Usage:"}, 0},
		{"unknown kind", []string{"reports", xlsx}, errExit1, nil, []string{`unknown kind "reports"`}, 0},
		{"no file", append([]string{"households"}, common...), errExit1, nil, []string{"请给出一个花名册文件"}, 0},
		{"not a roster file", append([]string{"households", filepath.Join(dir, "x.xls")}, common...), errExit1, nil, []string{"只支持 .xlsx 和 .csv"}, 0},
		{"dry run", append([]string{"households", xlsx, "-dry-run"}, common...), errExit1,
			[]string{"读取 花名册.xlsx：5 行数据，可导入 4 行，有问题 1 行：", "  第 7 行：标签「低保」没有对应的随访", "（-dry-run：未发送）"}, nil, 0},
		{"import, flags after the file, batches of 2", append([]string{"households", xlsx, "-batch", "2"}, common...), errExit1,
			[]string{"  第 7 行：标签「低保」", "服务器未导入 1 行：", "  第 6 行：网格「9」还没有绑定的网格员", "完成：花名册新增 3 户，新开随访 3 项，已存在 0 项；未导入 2 行"},
			[]string{"已发送 2/4 行", "已发送 4/4 行"}, 2},
		{"again: nothing new", append([]string{"households", "-batch", "500", xlsx}, common...), errExit1,
			[]string{"完成：花名册新增 0 户，新开随访 0 项，已存在 3 项；未导入 2 行"}, nil, 1},
		{"wrong token", append([]string{"households", xlsx}, "-community", "阳光社区", "-server", rs.url, "-token", "nope"), nil,
			nil, nil, 1},
	}
	for _, r := range runs {
		t.Run(r.label, func(t *testing.T) {
			rs.mu.Lock()
			before := len(rs.bodies)
			rs.mu.Unlock()
			var stdout, stderr bytes.Buffer
			err := runImport(ctx, r.args, &stdout, &stderr)
			switch {
			case r.label == "wrong token":
				if err == nil || !strings.Contains(err.Error(), "refused the token") {
					t.Fatalf("err %v", err)
				}
			case r.err == nil && err != nil, r.err != nil && !errors.Is(err, r.err):
				t.Fatalf("err %v, want %v\nstdout:\n%s\nstderr:\n%s", err, r.err, stdout.String(), stderr.String())
			}
			for _, s := range r.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range r.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			rs.mu.Lock()
			sent := rs.bodies[before:]
			rs.mu.Unlock()
			if len(sent) != r.sent {
				t.Errorf("%d requests, want %d", len(sent), r.sent)
			}
			// Residents' names go nowhere: not to the server, not to the screen.
			for _, name := range []string{"张三丰", "李四海", "王五岳", "赵六合", "钱七星"} {
				for _, b := range sent {
					if strings.Contains(b, name) {
						t.Errorf("request body holds the name %s", name)
					}
				}
				if strings.Contains(stdout.String()+stderr.String(), name) {
					t.Errorf("output holds the name %s", name)
				}
			}
		})
	}
	fs, err := rs.db.FollowUps(ctx, flows.Scope{Kind: flows.ScopeWorker, ID: "w1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Target+"/"+f.Kind+"@"+f.Due)
	}
	today := time.Now().In(importZone(t)).Format(time.DateOnly)
	want := []string{"3-2-201/chronic@2026-11-30", "5-1-302/elderly@2026-12-01", "6-1-101/maternal@" + today}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("open follow-ups %q, want %q", got, want)
	}
}

func importZone(t *testing.T) *time.Location {
	t.Helper()
	z, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestImportCSVFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "roster.csv")
	data, _ := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte("户号,姓名,网格,标签,上次随访日期\r\n3-2-201,张三,3,高血压,2026/9/1\r\n,李四,3,高血压,\r\n"))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := runImport(context.Background(), []string{"households", path, "-community", "阳光社区", "-dry-run"}, &stdout, &stderr)
	if !errors.Is(err, errExit1) {
		t.Fatalf("err %v", err)
	}
	if want := "读取 roster.csv：2 行数据，可导入 1 行，有问题 1 行：\n  第 3 行：缺少户号\n（-dry-run：未发送）\n"; stdout.String() != want {
		t.Fatalf("stdout %q, want %q", stdout.String(), want)
	}
}
