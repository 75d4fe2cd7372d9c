package console

import (
	"net/http"
	"net/url"

	"gridbot/flows/chat"
)

// ledgerData is the 台帐与总结 page's data.
type ledgerData struct {
	View     view
	Period   period
	Tabs     []periodTab
	PrevHref string
	NextHref string
	Links    []ledgerLink
	Summary  chat.Summary
	Q        string
}

// ledgerLink is one download.
type ledgerLink struct{ Label, Href string }

// ledger is 台帐与总结: the ledger of a month or a year for the scope as
// XLSX or CSV (the admin API's own writer), and the year's summary
// paragraph to copy into the annual work summary.
func (c *Console) ledger(w http.ResponseWriter, r *http.Request, s *session) {
	v, ok := c.viewOrFail(w, r, s)
	if !ok {
		return
	}
	today := c.todayUTC()
	p := parsePeriod(r.URL.Query().Get("period"), today)
	if p.Kind == "quarter" {
		p = p.As("month", today) // ledgers are by month or year, as the store keeps them
	}
	d := &ledgerData{View: v, Period: p, Q: v.Filters.Encode()}
	tabs, prev, next := periodTabs("/console/ledger", v.Filters, p, today)
	d.Tabs = []periodTab{tabs[0], tabs[2]}
	d.PrevHref, d.NextHref = prev, next
	for _, f := range []struct{ label, format string }{{"下载 Excel（XLSX）", "xlsx"}, {"下载 CSV", "csv"}} {
		q := url.Values{}
		for k, vs := range v.Filters {
			q[k] = vs
		}
		q.Set("period", p.String())
		q.Set("format", f.format)
		d.Links = append(d.Links, ledgerLink{f.label, "/console/ledger/download?" + q.Encode()})
	}
	var err error
	d.Summary, err = chat.BuildSummary(r.Context(), c.Store, c.cat(), v.Scope, p.Year, c.now(), c.zone())
	if err != nil {
		c.storeFail(w, r, s, "summary", err)
		return
	}
	c.render(w, r, http.StatusOK, "ledger", &page{Title: "台帐与总结", Nav: "ledger", S: s, Data: d})
}

// ledgerDownload sends the ledger file through the admin API's writer,
// for the scope the user's role allows.
func (c *Console) ledgerDownload(w http.ResponseWriter, r *http.Request, s *session) {
	v, ok := c.viewOrFail(w, r, s)
	if !ok {
		return
	}
	q := r.URL.Query()
	p := parsePeriod(q.Get("period"), c.todayUTC())
	format := q.Get("format")
	if format != "xlsx" && format != "csv" {
		c.fail(w, r, s, http.StatusBadRequest, "请选择 XLSX 或 CSV。")
		return
	}
	if p.Kind == "quarter" {
		c.fail(w, r, s, http.StatusBadRequest, "台帐按月或按年导出。")
		return
	}
	c.log().Info("console: ledger exported", "actor", s.OpenID, "scope", v.Scope.Kind, "period", p.String(), "format", format)
	c.Ledger.WriteLedger(w, r, v.Scope, p.String(), format, false)
}
