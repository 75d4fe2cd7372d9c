package console

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"gridbot/flows"
)

// page is what every template gets.
type page struct {
	Title string
	Nav   string // the active tab: dashboard, records, todo, people, ledger
	S     *session
	Flash string
	Data  any
}

// Me is the logged-in worker, for the templates.
func (p *page) Me() flows.Worker {
	if p.S == nil {
		return flows.Worker{}
	}
	return p.S.me
}

// Sup reports whether the user is a supervisor or admin.
func (p *page) Sup() bool { return p.S != nil && p.S.sup() }

// CSRF is the session's token for forms.
func (p *page) CSRF() string {
	if p.S == nil {
		return ""
	}
	return p.S.CSRF
}

// RoleName is the user's role in Chinese.
func (p *page) RoleName() string { return roleName(p.Me().Role) }

// flashes are the notes shown after a change (?done=…): fixed texts, so a
// crafted link cannot put words on the page.
var flashes = map[string]string{
	"void":   "✅ 已作废，统计已扣除。",
	"moved":  "✅ 已转交。",
	"closed": "✅ 已关闭。",
}

var funcs = template.FuncMap{
	"num":      fmtNum,
	"pct":      flows.RatePercent,
	"delta":    fmtDelta,
	"up":       func(cur, prev float64) bool { return cur > prev },
	"down":     func(cur, prev float64) bool { return cur < prev },
	"rolename": roleName,
	"name":     displayName,
	"add":      func(a, b int) int { return a + b },
}

// parsePages parses each page template together with the layout; dates
// are shown in zone.
func parsePages(zone *time.Location) map[string]*template.Template {
	fm := template.FuncMap{"date": func(t time.Time) string { return t.In(zone).Format("2006-01-02") }}
	for k, v := range funcs {
		fm[k] = v
	}
	layout := template.Must(template.New("layout.html").Funcs(fm).ParseFS(templateFS, "templates/layout.html"))
	pages := map[string]*template.Template{}
	for _, name := range []string{"login", "localauth", "error", "dashboard", "records", "record", "todo", "people", "invite", "ledger"} {
		t := template.Must(layout.Clone())
		pages[name] = template.Must(t.ParseFS(templateFS, "templates/"+name+".html"))
	}
	return pages
}

// render executes a page into a buffer first, so a template error is a 500
// and never half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		c.log().Error("console: render failed", "page", name, "err", err)
		c.plainError(w, http.StatusInternalServerError, "抱歉，页面出错了，请稍后再试。")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail shows an error page with the navigation.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	c.render(w, r, status, "error", &page{Title: "出错了", S: s, Data: msg})
}

// storeFail logs a storage error and shows a short apology; user errors
// (invalid, not found, conflict) are shown as msgs says.
func (c *Console) storeFail(w http.ResponseWriter, r *http.Request, s *session, op string, err error) {
	switch codeOf(err) {
	case flows.ENotFound:
		c.fail(w, r, s, http.StatusNotFound, "找不到这条记录，可能已被删除。")
	case flows.EConflict:
		c.fail(w, r, s, http.StatusConflict, "这条记录已经处理过了，请刷新页面。")
	case flows.EInvalid:
		c.fail(w, r, s, http.StatusBadRequest, "输入有误，请检查后重试。")
	default:
		c.log().Error("console: "+op, "actor", s.OpenID, "err", err)
		c.fail(w, r, s, http.StatusInternalServerError, "抱歉，系统出了点问题，请稍后再试。")
	}
}

// plainError answers a short text error.
func (c *Console) plainError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, msg)
}

// fmtNum writes a figure: whole numbers without decimals, others with up to three.
func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// fmtDelta is the change against the previous period: "+3", "−2", "持平".
func fmtDelta(cur, prev float64) string {
	d := cur - prev
	switch {
	case d > 0:
		return "+" + fmtNum(d)
	case d < 0:
		return "−" + fmtNum(-d)
	}
	return "持平"
}

// qrSVG renders content as a QR code in SVG: one path, a few kilobytes,
// made here without any outside service.
func qrSVG(content string) template.HTML {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return ""
	}
	q.DisableBorder = true
	bm := q.Bitmap()
	n := len(bm)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="-4 -4 %d %d" shape-rendering="crispEdges" role="img" aria-label="二维码"><rect x="-4" y="-4" width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n+8, n+8, n+8, n+8)
	for y, row := range bm {
		for x := 0; x < len(row); x++ {
			if !row[x] {
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start, y, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String())
}

// --- gzip ---

var gzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression); return w }}

// gzResponse compresses text responses when the browser accepts gzip.
type gzResponse struct {
	http.ResponseWriter
	gz      *gzip.Writer
	decided bool
}

func gzipWriter(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		return w
	}
	return &gzResponse{ResponseWriter: w}
}

// WriteHeader decides on compression from the content type, once.
func (g *gzResponse) WriteHeader(status int) {
	if !g.decided {
		g.decided = true
		h := g.Header()
		ct := h.Get("Content-Type")
		if h.Get("Content-Encoding") == "" && status != http.StatusNoContent && status != http.StatusNotModified && status != http.StatusPartialContent &&
			(strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "image/svg") ||
				strings.HasPrefix(ct, "application/javascript") || strings.HasPrefix(ct, "text/javascript")) {
			h.Del("Content-Length")
			h.Set("Content-Encoding", "gzip")
			h.Add("Vary", "Accept-Encoding")
			g.gz = gzipPool.Get().(*gzip.Writer)
			g.gz.Reset(g.ResponseWriter)
		}
	}
	g.ResponseWriter.WriteHeader(status)
}

// Write compresses when WriteHeader decided to.
func (g *gzResponse) Write(b []byte) (int, error) {
	if !g.decided {
		if g.Header().Get("Content-Type") == "" {
			g.Header().Set("Content-Type", http.DetectContentType(b))
		}
		g.WriteHeader(http.StatusOK)
	}
	if g.gz != nil {
		return g.gz.Write(b)
	}
	return g.ResponseWriter.Write(b)
}

// Flush lets streamed downloads through.
func (g *gzResponse) Flush() {
	if g.gz != nil {
		g.gz.Flush()
	}
	if f, ok := g.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (g *gzResponse) finish() {
	if g.gz != nil {
		g.gz.Close()
		gzipPool.Put(g.gz)
		g.gz = nil
	}
}

// cacheForever marks embedded assets as immutable for a day: they change
// only with the binary.
func cacheForever(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		h.ServeHTTP(w, r)
	})
}
