package bot

import (
	"context"
	"io"
	"net/http"
	"strconv"
)

// Maintainer is what the maintenance endpoints need of storage
// (storage.DB, wired as API.Maint): `gridbot check` and `gridbot backup` go through them while
// the bot holds the store's file lock.
type Maintainer interface {
	Check(ctx context.Context) (diffs []string, err error)
	Backup(w io.Writer) (int64, error)
}

// getCheck answers GET /api/v1/admin/check: {"diffs": [...]} listing every
// tally that differs from its reports (empty when consistent). A check
// that fails (a damaged file: storage names it and says what to do)
// answers 500 {"code": "check_failed", "error": that message}: the admin
// who asked needs it, and it carries no resident's data.
func (a *API) getCheck(w http.ResponseWriter, r *http.Request) {
	m := a.Maint
	if m == nil {
		writeJSONError(w, http.StatusNotImplemented, "not_implemented", "this store cannot be checked")
		return
	}
	diffs, err := m.Check(r.Context())
	if err != nil {
		a.logger().Error("api: check failed", "err", err)
		writeJSONError(w, http.StatusInternalServerError, "check_failed", err.Error())
		return
	}
	if diffs == nil {
		diffs = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"diffs": diffs})
}

// getBackup answers GET /api/v1/admin/backup with a consistent copy of the
// bbolt file (storage copies it to a temporary file first, so a slow client
// holds up no writer). A backup that fails before its first byte (a
// damaged store) answers 500 {"code": "backup_failed", "error": why}; one
// that fails later cuts the connection, so the client sees a broken
// download, not a short file.
func (a *API) getBackup(w http.ResponseWriter, r *http.Request) {
	m := a.Maint
	if m == nil {
		writeJSONError(w, http.StatusNotImplemented, "not_implemented", "this store cannot be backed up")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="gridbot-backup.db"`)
	n, err := m.Backup(w)
	if err == nil {
		return
	}
	a.logger().Error("api: backup failed", "written", strconv.FormatInt(n, 10), "err", err)
	if n > 0 {
		panic(http.ErrAbortHandler)
	}
	w.Header().Del("Content-Disposition")
	writeJSONError(w, http.StatusInternalServerError, "backup_failed", err.Error())
}
