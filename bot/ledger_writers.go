package bot

// The three ledger formats (CSV, JSON, XLSX) over one ledgerLayout.

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"gridbot/flows"
)

// cellText is a value as CSV and JSON-free text.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// utf8BOM makes Excel read a CSV file as UTF-8.
const utf8BOM = "\uFEFF"

// csvLedger writes a ledger as CSV, UTF-8 with a BOM, one row per report.
type csvLedger struct {
	buf  *bufio.Writer
	w    *csv.Writer
	cols []ledgerCol
	row  []string
}

func newCSVLedger(out io.Writer, l *ledgerLayout) (*csvLedger, error) {
	buf := bufio.NewWriterSize(out, 64<<10)
	if _, err := buf.WriteString(utf8BOM); err != nil {
		return nil, err
	}
	c := &csvLedger{buf: buf, w: csv.NewWriter(buf), cols: l.csvCols()}
	c.w.UseCRLF = true // what Excel writes and expects
	header := make([]string, len(c.cols))
	for i, col := range c.cols {
		header[i] = csvSafe(col.header) // headers come from the editable catalog
	}
	c.row = make([]string, len(c.cols))
	return c, c.w.Write(header)
}

func (c *csvLedger) add(r *flows.Report) error {
	for i, col := range c.cols {
		v := col.value(r)
		if s, ok := v.(string); ok {
			v = csvSafe(s)
		}
		c.row[i] = cellText(v)
	}
	return c.w.Write(c.row)
}

// csvSafe neutralises text that a spreadsheet would run as a formula when
// it opens the CSV file (a note such as =HYPERLINK("http://…"&A1,"点击查看")):
// a cell starting with =, +, -, @, tab or CR gets a leading apostrophe, the
// usual guard, which Excel and WPS show as text. Numbers (counts) are not
// strings here and keep their sign. XLSX needs no such guard: its cells are
// inline strings, never formulas.
func csvSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

func (c *csvLedger) close() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.buf.Flush()
}

// jsonLedger writes {"scope": …, "period": …, "reports": [ … ]}, one report
// at a time.
type jsonLedger struct {
	buf *bufio.Writer
	enc *json.Encoder
	n   int
}

func newJSONLedger(out io.Writer, scope, period string) (*jsonLedger, error) {
	buf := bufio.NewWriterSize(out, 64<<10)
	s, _ := json.Marshal(scope)
	p, _ := json.Marshal(period)
	_, err := fmt.Fprintf(buf, `{"scope":%s,"period":%s,"reports":[`, s, p)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	return &jsonLedger{buf: buf, enc: enc}, err
}

func (j *jsonLedger) add(r *flows.Report) error {
	if j.n > 0 {
		if err := j.buf.WriteByte(','); err != nil {
			return err
		}
	}
	j.n++
	return j.enc.Encode(r)
}

func (j *jsonLedger) close() error {
	if _, err := j.buf.WriteString("]}\n"); err != nil {
		return err
	}
	return j.buf.Flush()
}

// xlsxLedger builds an XLSX workbook with one sheet per report type, each
// written through excelize's StreamWriter (rows go to a buffer that spills
// to a temporary file, not to the workbook's cell model), with a bold,
// frozen header row, column widths, and print setup: landscape A4, fit to
// one page wide, the header repeated on every page, page numbers.
type xlsxLedger struct {
	f      *excelize.File
	l      *ledgerLayout
	title  string // in the page header: scope and period
	sheets map[string]*xlsxSheet
	order  []string // flow keys in sheet order
	header int      // style of header cells
	body   int      // style of data cells: thin borders, wrapped text
	date   int      // style of date cells: body and yyyy-mm-dd
	used   map[string]bool
}

type xlsxSheet struct {
	name string
	cols []ledgerCol
	sw   *excelize.StreamWriter
	row  int
	vals []any
}

func newXLSXLedger(l *ledgerLayout, title string) (*xlsxLedger, error) {
	f := excelize.NewFile()
	x := &xlsxLedger{f: f, l: l, title: title, sheets: map[string]*xlsxSheet{}, used: map[string]bool{}}
	var err error
	x.header, err = f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true},
		Border: []excelize.Border{
			{Type: "left", Color: "999999", Style: 1}, {Type: "right", Color: "999999", Style: 1},
			{Type: "top", Color: "999999", Style: 1}, {Type: "bottom", Color: "999999", Style: 1},
		},
	})
	if err == nil {
		x.body, err = f.NewStyle(&excelize.Style{
			Alignment: &excelize.Alignment{Vertical: "center", WrapText: true},
			Border:    bodyBorder,
		})
	}
	if err == nil {
		dateFmt := "yyyy-mm-dd"
		x.date, err = f.NewStyle(&excelize.Style{
			Alignment:    &excelize.Alignment{Horizontal: "left", Vertical: "center"},
			Border:       bodyBorder,
			CustomNumFmt: &dateFmt,
		})
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	// One sheet per report type of the catalog, in its order, also when
	// empty: the office prints every ledger each month.
	for i := range l.cat.Flows {
		fd := &l.cat.Flows[i]
		if _, err := x.sheet(fd.Key, fd); err != nil {
			f.Close()
			return nil, err
		}
	}
	return x, nil
}

// sheetName makes a valid, unique sheet name: at most 31 characters,
// none of : \ / ? * [ ].
func (x *xlsxLedger) sheetName(name string) string {
	name = strings.Map(func(r rune) rune {
		switch r {
		case ':', '\\', '/', '?', '*', '[', ']':
			return '-'
		}
		return r
	}, name)
	if rs := []rune(name); len(rs) > 28 {
		name = string(rs[:28])
	}
	base := name
	for i := 2; x.used[name]; i++ {
		name = base + strconv.Itoa(i)
	}
	x.used[name] = true
	return name
}

// sheet returns the sheet of a flow, creating it (with its header row)
// on first use. fd is nil for a flow the catalog does not know.
func (x *xlsxLedger) sheet(flow string, fd *flows.FlowDef) (*xlsxSheet, error) {
	if s := x.sheets[flow]; s != nil {
		return s, nil
	}
	title := flow
	if fd != nil {
		title = fd.Name
	}
	name := x.sheetName(title)
	if len(x.sheets) == 0 {
		if err := x.f.SetSheetName("Sheet1", name); err != nil {
			return nil, err
		}
	} else if _, err := x.f.NewSheet(name); err != nil {
		return nil, err
	}
	s := &xlsxSheet{name: name, cols: x.l.flowCols(fd)}
	sw, err := x.printReady(name, title)
	if err != nil {
		return nil, err
	}
	s.sw = sw
	// Widths from the last column to the first: excelize puts each new
	// <col> before the others, and Excel wants them in column order.
	for i := len(s.cols) - 1; i >= 0; i-- {
		if err := sw.SetColWidth(i+1, i+1, s.cols[i].width); err != nil {
			return nil, err
		}
	}
	head := make([]any, len(s.cols))
	for i, c := range s.cols {
		head[i] = excelize.Cell{StyleID: x.header, Value: c.header}
	}
	if err := sw.SetRow("A1", head, excelize.RowOpts{Height: 20}); err != nil {
		return nil, err
	}
	s.row = 1
	s.vals = make([]any, len(s.cols))
	x.sheets[flow] = s
	x.order = append(x.order, flow)
	return s, nil
}

// printReady sets a new sheet up for printing (landscape A4, one page
// wide, the header row repeated, page numbers, title headed with the
// ledger's scope and period) and returns its stream with the header row
// frozen. Print setup goes in before the stream starts: the stream writes
// the sheet's leading XML when it is created.
func (x *xlsxLedger) printReady(name, title string) (*excelize.StreamWriter, error) {
	landscape, a4, one, any0, fit := "landscape", 9, 1, 0, true
	if err := x.f.SetSheetProps(name, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return nil, err
	}
	if err := x.f.SetPageLayout(name, &excelize.PageLayoutOptions{
		Size: &a4, Orientation: &landscape, FitToWidth: &one, FitToHeight: &any0,
	}); err != nil {
		return nil, err
	}
	if err := x.f.SetHeaderFooter(name, &excelize.HeaderFooterOptions{
		OddHeader: "&C&\"-,Bold\"" + xlsxEscape(title+"台帐 "+x.title),
		OddFooter: "&C第 &P 页，共 &N 页",
	}); err != nil {
		return nil, err
	}
	if err := x.f.SetDefinedName(&excelize.DefinedName{
		Name: "_xlnm.Print_Titles", RefersTo: "'" + name + "'!$1:$1", Scope: name,
	}); err != nil {
		return nil, err
	}
	sw, err := x.f.NewStreamWriter(name)
	if err != nil {
		return nil, err
	}
	return sw, sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
}

// bodyBorder is the thin grey grid of a ledger's data cells.
var bodyBorder = []excelize.Border{
	{Type: "left", Color: "BBBBBB", Style: 1}, {Type: "right", Color: "BBBBBB", Style: 1},
	{Type: "top", Color: "BBBBBB", Style: 1}, {Type: "bottom", Color: "BBBBBB", Style: 1},
}

// xlsxEscape doubles & in header/footer text, where & starts a code.
func xlsxEscape(s string) string { return strings.ReplaceAll(s, "&", "&&") }

func (x *xlsxLedger) add(r *flows.Report) error {
	s, err := x.sheet(r.Flow, x.l.cat.Flow(r.Flow))
	if err != nil {
		return err
	}
	s.row++
	for i, c := range s.cols {
		v, style := c.value(r), x.body
		if v == "" {
			v = nil
		}
		if day, ok := v.(string); ok && c.date {
			if t, err := time.Parse(time.DateOnly, day); err == nil {
				v, style = t, x.date
			}
		}
		s.vals[i] = excelize.Cell{StyleID: style, Value: v}
	}
	cell, err := excelize.CoordinatesToCellName(1, s.row)
	if err != nil {
		return err
	}
	return s.sw.SetRow(cell, s.vals)
}

// writeTo flushes every sheet and writes the workbook to w.
func (x *xlsxLedger) writeTo(w io.Writer) error {
	for _, k := range x.order {
		if err := x.sheets[k].sw.Flush(); err != nil {
			return err
		}
	}
	_, err := x.f.WriteTo(w)
	return err
}

// close removes the stream's temporary files.
func (x *xlsxLedger) close() error { return x.f.Close() }

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
