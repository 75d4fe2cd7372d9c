package bot

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"gridbot/flows"
	"gridbot/flows/chat"
)

// The ledger and annual summary endpoints of the admin API:
//
//	GET /api/v1/reports?scope=…&period=…&format=json|csv|xlsx[&include_void=1]
//	GET /api/v1/summary?scope=…&year=YYYY
//
// Scopes and periods are those of /api/v1/tallies.

// Ledger formats and their content types.
var ledgerTypes = map[string]string{
	"json": "application/json; charset=utf-8",
	"csv":  "text/csv; charset=utf-8",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// getReports answers the ledger (台帐) of a scope and period. JSON and CSV
// are streamed as the reports are read; XLSX is built first (its sheets
// stream to temporary storage, not to memory) and then sent, so a storage
// error still gets a proper error status.
func (a *API) getReports(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	scope, period, err := scopePeriod(q)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	includeVoid, err := boolParam(q, "include_void")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.WriteLedger(w, r, scope, period, q.Get("format"), includeVoid)
}

// WriteLedger answers the ledger of scope and period as a download in
// format ("json", the default, "csv" or "xlsx"). It checks no credentials:
// the caller has decided that the scope may be seen (the admin API by its
// token, the web console by the user's role).
func (a *API) WriteLedger(w http.ResponseWriter, r *http.Request, scope flows.Scope, period, format string, includeVoid bool) {
	format = strings.ToLower(format)
	if format == "" {
		format = "json"
	}
	ctype, ok := ledgerTypes[format]
	if !ok {
		a.writeError(w, r, flows.Errorf(flows.EInvalid, "format %q: want json, csv or xlsx", format))
		return
	}
	var err error
	ctx := r.Context()
	layout := &ledgerLayout{cat: a.ledgerCatalog(), includeVoid: includeVoid}
	if err := a.scopeKnown(ctx, scope, period); err != nil {
		a.writeError(w, r, err)
		return
	}
	if format != "json" {
		if layout.names, err = workerNames(ctx, a.Store); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	filename := "台帐-" + scope.String() + "-" + period + "." + format

	if format == "xlsx" {
		x, err := newXLSXLedger(layout, scopeTitle(scope)+" "+period)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		defer x.close()
		err = a.Store.Reports(ctx, scope, period, includeVoid, func(rep flows.Report) error { return x.add(&rep) })
		if err == nil {
			var rows [][]any
			if rows, err = a.summaryRows(ctx, layout.cat, scope, period); err == nil {
				err = x.addSummarySheet(rows)
			}
		}
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		setDownload(w, ctype, filename)
		if err := x.writeTo(w); err != nil {
			a.abortStream(r, "xlsx", err)
		}
		return
	}

	// Streamed formats: the status is sent with the first bytes, so an
	// error after that can only cut the response short.
	setDownload(w, ctype, filename)
	var add func(*flows.Report) error
	var finish func() error
	if format == "csv" {
		c, err := newCSVLedger(w, layout)
		if err != nil {
			a.abortStream(r, format, err)
			return
		}
		add, finish = c.add, c.close
	} else {
		j, err := newJSONLedger(w, scope.String(), period)
		if err != nil {
			a.abortStream(r, format, err)
			return
		}
		add, finish = j.add, j.close
	}
	err = a.Store.Reports(ctx, scope, period, includeVoid, func(rep flows.Report) error { return add(&rep) })
	if err == nil {
		err = finish()
	}
	if err != nil {
		a.abortStream(r, format, err)
	}
}

// setDownload sets the headers of a ledger download.
func setDownload(w http.ResponseWriter, ctype, filename string) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(filename))
	h.Set("Cache-Control", "no-store")
}

// abortStream ends a response whose status is already sent after a
// failure: it is logged and the connection is cut, so the client sees a
// broken download rather than a short file that looks complete.
func (a *API) abortStream(r *http.Request, format string, err error) {
	if errors.Is(err, context.Canceled) {
		panic(http.ErrAbortHandler) // the client went away
	}
	a.logger().Error("api: ledger export failed", "path", r.URL.Path, "format", format, "err", err)
	panic(http.ErrAbortHandler)
}

// getSummary answers a year's figures and their annual summary paragraph:
// {"scope", "year", "through", "counts", "items", "paragraph"}.
func (a *API) getSummary(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	scope, err := queryScope(q)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	zone := a.ledgerZone()
	year := a.now().In(zone).Year()
	if y := q.Get("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || len(y) != 4 {
			a.writeError(w, r, flows.Errorf(flows.EInvalid, "year %q: want YYYY", y))
			return
		}
		year = n
	}
	s, err := chat.BuildSummary(r.Context(), a.Store, a.ledgerCatalog(), scope, year, a.now(), zone)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// errFound stops a scan at its first report.
var errFound = errors.New("found")

// scopeKnown fails with ENotFound when a scope names nothing the store
// knows: no worker is bound to it and it has no report (void or not) in
// the period. A misspelt community would otherwise export an empty ledger
// that looks like a month without work. The message lists the communities
// that do exist.
func (a *API) scopeKnown(ctx context.Context, scope flows.Scope, period string) error {
	if scope.Kind == flows.ScopeAll {
		return nil
	}
	ws, err := a.Store.Workers(ctx)
	if err != nil {
		return err
	}
	var communities []string
	for _, wk := range ws {
		for _, s := range flows.Scopes(wk.OpenID, wk.Community, wk.Grid) {
			if s == scope {
				return nil
			}
		}
		if !slices.Contains(communities, wk.Community) {
			communities = append(communities, wk.Community)
		}
	}
	err = a.Store.Reports(ctx, scope, period, true, func(flows.Report) error { return errFound })
	if errors.Is(err, errFound) {
		return nil
	}
	if err != nil {
		return err
	}
	slices.Sort(communities)
	known := "none yet"
	if len(communities) > 0 {
		if len(communities) > 10 {
			communities = append(communities[:10], "…")
		}
		known = strings.Join(communities, ", ")
	}
	return flows.Errorf(flows.ENotFound, "scope %q: no worker is bound to it and it has no reports in %s (communities with workers: %s)",
		scope.String(), period, known)
}

// boolParam reads an optional 0/1 (or true/false) query parameter.
func boolParam(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, flows.Errorf(flows.EInvalid, "%s %q: want 1 or 0", name, v)
	}
	return b, nil
}

// workerNames maps every worker's openid to their name.
func workerNames(ctx context.Context, st flows.Store) (ledgerNames, error) {
	ws, err := st.Workers(ctx)
	if err != nil {
		return nil, err
	}
	names := make(ledgerNames, len(ws))
	for _, w := range ws {
		names[w.OpenID] = w.Name
	}
	return names, nil
}

// scopeTitle names a scope in a ledger's page header.
func scopeTitle(s flows.Scope) string {
	switch s.Kind {
	case flows.ScopeCommunity:
		return s.ID
	case flows.ScopeGrid:
		c, g, _ := strings.Cut(s.ID, "/")
		return c + " " + g + "网格"
	case flows.ScopeAll:
		return "全部"
	}
	return s.String()
}

// ledgerCatalog is the catalog naming the ledger's columns and the
// summary's figures: the configured one the API's Reminders carries (as
// for the follow-up endpoints), else the shipped one.
func (a *API) ledgerCatalog() *flows.Catalog {
	if a.Reminders != nil && a.Reminders.Catalog != nil {
		return a.Reminders.Catalog
	}
	return flows.Shipped()
}

// ledgerZone is the zone of "today" for a summary of the running year: the
// configured one the API's Reminders carries, else flows.DefaultZone().
func (a *API) ledgerZone() *time.Location {
	if a.Reminders != nil && a.Reminders.Zone != nil {
		return a.Reminders.Zone
	}
	return flows.DefaultZone()
}
