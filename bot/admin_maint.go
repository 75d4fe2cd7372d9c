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
// tally that differs from its reports (empty when consistent).
func (a *API) getCheck(w http.ResponseWriter, r *http.Request) {
	m := a.Maint
	if m == nil {
		writeJSONError(w, http.StatusNotImplemented, "not_implemented", "this store cannot be checked")
		return
	}
	diffs, err := m.Check(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if diffs == nil {
		diffs = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"diffs": diffs})
}

// getBackup answers GET /api/v1/admin/backup with a consistent copy of the
// bbolt file, streamed from one read transaction.
func (a *API) getBackup(w http.ResponseWriter, r *http.Request) {
	m := a.Maint
	if m == nil {
		writeJSONError(w, http.StatusNotImplemented, "not_implemented", "this store cannot be backed up")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="gridbot-backup.db"`)
	n, err := m.Backup(w)
	if err != nil {
		// Headers are gone; the client sees a short body and its copy fails to open.
		a.logger().Error("api: backup failed", "written", strconv.FormatInt(n, 10), "err", err)
	}
}
