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
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"gridbot/flows"
	"gridbot/flows/zh"
)

const importHelp = `gridbot import households — 导入重点人群花名册，开启随访 (import a household roster)

Usage:
  gridbot import households FILE.xlsx|FILE.csv [-community 社区] [-server URL] [-token T]
                 [-sheet NAME] [-batch N] [-dry-run] [-config FILE]

The roster is read here, on this machine; its good rows are sent in batches to
the running "gridbot serve" (POST /api/v1/households/import), which keeps the
households and their tags as the roster (the base of 入户率 and 规范管理率,
GET /api/v1/coverage; importing a household again updates its grid and tags)
and opens one follow-up per household and kind: 高血压/糖尿病 → 慢病随访 (every 90 days),
孕产妇 → 孕产妇/新生儿访视 (7 days), 独居老人 → 老年人探访 (30 days), due that
long after 上次随访日期 (at once when it is empty), owned by a worker of the
row's grid. A follow-up already open with the same or a later due date is kept.

Columns (first row holding 户号 is the header; other columns are ignored):
  户号          required: 3-2-201, 3号楼2单元201室, 3栋2单元201 …
  姓名          read but never sent nor printed (personal data)
  网格          required: the grid as workers are bound to it
  标签          required: 高血压、糖尿病、孕产妇、独居老人 (several: 、 , / or space)
  上次随访日期  2026-11-05, 2026/11/5, 2026年11月5日 or an Excel date; empty: due now
  社区          optional; rows without it take -community

Bad rows are listed with their line numbers and reasons; the good ones are
imported all the same. Exit status 1 when any row was not imported.

Options:
  -community  社区 of rows without a 社区 column
  -sheet      the xlsx sheet to read (default: the first)
  -batch      rows per request (default 200, at most 1000)
  -dry-run    only check the file and list bad rows; send nothing
  -server     the running bot (default http://<http.addr> of the config)
  -token      the admin API token (default api.token of the config, or $GRIDBOT_API_TOKEN)
  -config     config file to take -server and -token from

Example:
  gridbot import households 花名册.xlsx -community 幸福社区 -server http://127.0.0.1:8080 -token T
`

// runImport runs "gridbot import households FILE …".
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelpArg(args[0]) {
		fmt.Fprint(stderr, importHelp)
		if len(args) == 0 {
			return errExit1
		}
		return flag.ErrHelp
	}
	if args[0] != "households" {
		fmt.Fprintf(stderr, "gridbot import: unknown kind %q: only \"households\" can be imported\n\n%s", args[0], importHelp)
		return errExit1
	}
	fs := flag.NewFlagSet("import households", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, importHelp) }
	var api apiFlags
	api.register(fs)
	community := fs.String("community", "", "社区 of rows without a 社区 column")
	sheet := fs.String("sheet", "", "xlsx sheet (default: the first)")
	batch := fs.Int("batch", 200, "rows per request")
	dryRun := fs.Bool("dry-run", false, "check the file only; send nothing")
	// Flags may come before or after the file.
	var files []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 1 {
		fmt.Fprintf(stderr, "gridbot import households: 请给出一个花名册文件（.xlsx 或 .csv）\n\n%s", importHelp)
		return errExit1
	}
	if *batch < 1 || *batch > 1000 {
		fmt.Fprintln(stderr, "gridbot import households: -batch 应在 1 到 1000 之间")
		return errExit1
	}
	path := files[0]
	table, err := readRoster(path, *sheet)
	if err != nil {
		fmt.Fprintf(stderr, "gridbot import households: %v\n", err)
		return errExit1
	}
	rows, bad, err := parseRoster(table, *community, rosterToday())
	if err != nil {
		fmt.Fprintf(stderr, "gridbot import households: %s: %v\n", filepath.Base(path), err)
		return errExit1
	}
	fmt.Fprintf(stdout, "读取 %s：%d 行数据，可导入 %d 行", filepath.Base(path), len(rows)+len(bad), len(rows))
	if len(bad) > 0 {
		fmt.Fprintf(stdout, "，有问题 %d 行：\n", len(bad))
		printRowErrors(stdout, bad)
	} else {
		fmt.Fprintln(stdout, "。")
	}
	if *dryRun {
		fmt.Fprintln(stdout, "（-dry-run：未发送）")
		if len(bad) > 0 {
			return errExit1
		}
		return nil
	}
	if len(rows) == 0 {
		fmt.Fprintln(stdout, "没有可导入的行。")
		return errExit1
	}
	client, err := api.client()
	if err != nil {
		return err
	}
	var total flows.ImportResult
	var refused []flows.RowError
	for start := 0; start < len(rows); start += *batch {
		part := rows[start:min(start+*batch, len(rows))]
		var res flows.ImportResult
		if err := importPost(ctx, client, "/api/v1/households/import", map[string]any{"rows": part}, &res); err != nil {
			fmt.Fprintln(stderr)
			fmt.Fprintf(stdout, "已导入 %d/%d 行后中断。重新运行同一命令即可续传（已导入的不会重复）。\n", start, len(rows))
			return err
		}
		total.Opened += res.Opened
		total.Unchanged += res.Unchanged
		total.Roster += res.Roster
		refused = append(refused, res.Errors...)
		fmt.Fprintf(stderr, "\r已发送 %d/%d 行", start+len(part), len(rows))
	}
	fmt.Fprintln(stderr)
	if len(refused) > 0 {
		fmt.Fprintf(stdout, "服务器未导入 %d 行：\n", len(refused))
		printRowErrors(stdout, refused)
	}
	fmt.Fprintf(stdout, "完成：花名册新增 %d 户，新开随访 %d 项，已存在 %d 项", total.Roster, total.Opened, total.Unchanged)
	if n := len(bad) + len(refused); n > 0 {
		fmt.Fprintf(stdout, "；未导入 %d 行（见上，改正后可重新导入）。\n", n)
		return errExit1
	}
	fmt.Fprintln(stdout, "。")
	return nil
}

func isHelpArg(s string) bool {
	switch s {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

func printRowErrors(w io.Writer, errs []flows.RowError) {
	for _, e := range errs {
		fmt.Fprintf(w, "  第 %d 行：%s\n", e.Line, e.Reason)
	}
}

// rosterToday is today's date in the zone the bot runs in by default.
func rosterToday() string {
	return flows.DayIn(time.Now(), flows.DefaultZone()).String()
}

// rosterTable is a roster file's cells, with each row's line number.
type rosterTable struct {
	rows  [][]string
	lines []int
}

// readRoster reads an xlsx sheet (cells unformatted: dates as Excel serial
// numbers) or a CSV file (UTF-8 with or without BOM, or GB18030 as Excel
// on Chinese Windows saves it).
func readRoster(path, sheet string) (rosterTable, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".xlsx", ".xlsm":
		f, err := excelize.OpenFile(path)
		if err != nil {
			return rosterTable{}, fmt.Errorf("打不开 %s：%v", path, err)
		}
		defer f.Close()
		if sheet == "" {
			list := f.GetSheetList()
			if len(list) == 0 {
				return rosterTable{}, fmt.Errorf("%s 里没有工作表", path)
			}
			sheet = list[0]
		}
		rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			return rosterTable{}, fmt.Errorf("读不了工作表「%s」：%v", sheet, err)
		}
		t := rosterTable{rows: rows, lines: make([]int, len(rows))}
		for i := range rows {
			t.lines[i] = i + 1
		}
		return t, nil
	case ".csv":
		if sheet != "" {
			return rosterTable{}, errors.New("-sheet 只用于 xlsx 文件")
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return rosterTable{}, fmt.Errorf("打不开 %s：%v", path, err)
		}
		return parseCSV(data)
	}
	return rosterTable{}, fmt.Errorf("%s：只支持 .xlsx 和 .csv 文件（.xls 请在 Excel 里另存为 .xlsx）", path)
}

// parseCSV decodes CSV bytes into a table with each record's line number.
func parseCSV(data []byte) (rosterTable, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
		if err != nil {
			return rosterTable{}, errors.New("CSV 编码无法识别：请另存为 UTF-8 的 CSV")
		}
		data = dec
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	var t rosterTable
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return t, nil
		}
		if err != nil {
			return t, fmt.Errorf("CSV 格式有误：%v", err)
		}
		line, _ := r.FieldPos(0)
		t.rows = append(t.rows, rec)
		t.lines = append(t.lines, line)
	}
}

// rosterColumns are the header names each column goes by.
var rosterColumns = map[string][]string{
	"household": {"户号", "户号/地址", "户号或地址", "地址", "住址", "门牌号"},
	"name":      {"姓名", "户主", "户主姓名", "居民姓名"},
	"grid":      {"网格", "所属网格", "网格号", "网格名称"},
	"tags":      {"标签", "人群标签", "重点人群", "人群类别", "类别"},
	"last":      {"上次随访日期", "上次随访", "最近随访日期", "末次随访日期", "上次随访时间"},
	"community": {"社区", "所属社区", "社区名称"},
}

// headerSearchRows is how far down the header row is looked for (titles
// and notes may come first).
const headerSearchRows = 10

// parseRoster turns a table into good rows and the bad rows' reasons.
// The resident's name is read and dropped.
func parseRoster(t rosterTable, community, today string) ([]flows.HouseholdRow, []flows.RowError, error) {
	head := -1
	var col map[string]int
	for i := 0; i < len(t.rows) && i < headerSearchRows; i++ {
		if c := headerColumns(t.rows[i]); c["household"] >= 0 {
			head, col = i, c
			break
		}
	}
	if head < 0 {
		return nil, nil, errors.New("找不到表头：前 10 行里没有「户号」列")
	}
	for _, k := range []string{"grid", "tags"} {
		if col[k] < 0 {
			return nil, nil, fmt.Errorf("表头缺少「%s」列", rosterColumns[k][0])
		}
	}
	if col["community"] < 0 && community == "" {
		return nil, nil, errors.New("表里没有「社区」列：请用 -community 指定社区")
	}
	var rows []flows.HouseholdRow
	var bad []flows.RowError
	seen := map[string]int{}
	for i := head + 1; i < len(t.rows); i++ {
		rec, line := t.rows[i], t.lines[i]
		cell := func(k string) string {
			if j := col[k]; j >= 0 && j < len(rec) {
				return strings.TrimSpace(zh.Fold(rec[j]))
			}
			return ""
		}
		if blank(rec) {
			continue
		}
		row := flows.HouseholdRow{Line: line, Community: cell("community"), Grid: cell("grid")}
		if row.Community == "" {
			row.Community = community
		}
		reason := func() string {
			raw := cell("household")
			if raw == "" {
				return "缺少户号"
			}
			hh, ok := zh.Household(raw)
			if !ok {
				return "户号「" + raw + "」无法识别（如 3-2-201、3号楼2单元201室）"
			}
			row.Household = hh
			if row.Grid == "" {
				return "缺少网格"
			}
			row.Tags = flows.SplitTags(cell("tags"))
			kinds, unknown := flows.Shipped().TagKinds(row.Tags) // the server checks again with its configured catalog
			if len(row.Tags) == 0 {
				return "缺少标签（高血压、糖尿病、孕产妇、独居老人）"
			}
			if len(kinds) == 0 {
				return "标签「" + strings.Join(unknown, "、") + "」没有对应的随访（可用：高血压、糖尿病、孕产妇、独居老人）"
			}
			last, err := rosterDate(cell("last"))
			if err != nil {
				return err.Error()
			}
			if last > today {
				return "上次随访日期 " + last + " 在今天之后"
			}
			row.LastVisit = last
			key := row.Community + "\x00" + row.Household
			if prev, dup := seen[key]; dup {
				return fmt.Sprintf("户号 %s 与第 %d 行重复", row.Household, prev)
			}
			seen[key] = line
			return ""
		}()
		if reason != "" {
			bad = append(bad, flows.RowError{Line: line, Reason: reason})
			continue
		}
		rows = append(rows, row)
	}
	return rows, bad, nil
}

// headerColumns maps each known column to its index in a header row (-1
// when absent).
func headerColumns(rec []string) map[string]int {
	col := map[string]int{}
	for k := range rosterColumns {
		col[k] = -1
	}
	for j, h := range rec {
		h = strings.ReplaceAll(strings.TrimSpace(zh.Fold(h)), " ", "")
		for k, names := range rosterColumns {
			for _, n := range names {
				if h == n && col[k] < 0 {
					col[k] = j
				}
			}
		}
	}
	return col
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// rosterDate reads a 上次随访日期 cell: 2026-11-05, 2026/11/5, 2026.11.5,
// 2026年11月5日, 20261105, an optional time after it, or an Excel serial
// date (46000). Empty is "" (never visited).
func rosterDate(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	bad := fmt.Errorf("上次随访日期「%s」无法识别（如 2026-11-05）", s)
	if v, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "-/") {
		if len(s) == 8 && !strings.Contains(s, ".") {
			if t, err := time.Parse("20060102", s); err == nil {
				return t.Format(time.DateOnly), nil
			}
			return "", bad
		}
		// An Excel serial date; 20000 is 1954-10-03, earlier is no visit date.
		if v >= 20000 && v < 2958466 {
			if t, err := excelize.ExcelDateToTime(v, false); err == nil {
				return t.Format(time.DateOnly), nil
			}
		}
		return "", bad
	}
	if i := strings.IndexAny(s, " T"); i > 0 {
		s = s[:i]
	}
	s = strings.TrimSuffix(strings.TrimSuffix(s, "日"), "号")
	s = strings.NewReplacer("/", "-", ".", "-", "年", "-", "月", "-").Replace(s)
	t, err := time.Parse("2006-1-2", s)
	if err != nil {
		return "", bad
	}
	return t.Format(time.DateOnly), nil
}

// importPost posts body as JSON to the admin API and decodes the 200
// answer into out; another status becomes an error with the API's message.
func importPost(ctx context.Context, c *apiClient, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the bot at %s (is gridbot serve running?): %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("POST %s: unreadable answer: %w", path, err)
		}
		return nil
	case http.StatusUnauthorized:
		return errors.New("the bot refused the token (401): check -token / api.token")
	}
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(data))
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	return fmt.Errorf("POST %s: %s: %s", path, resp.Status, msg)
}
