package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"gridbot/flows"
)

// view is the scope a page shows: the user's own (a worker's figures, a
// supervisor's community, everything for an admin), narrowed by the
// filters community=, grid= and worker= when the role allows.
type view struct {
	Scope     flows.Scope
	Title     string // "演示社区 第一网格", "王芳"
	Community string // "" for everything
	Grid      string
	Worker    string // openid
	Filters   url.Values
	Workers   []flows.Worker // the workers the user may see, by community, grid, name
	Grids     []string       // the grids of Community (or of everything)
	// Communities are those an admin may pick; nil for everyone else.
	Communities []string
}

// viewOf resolves the request's filters against the user's role. A filter
// outside the role's reach is errNotAllowed (403), never silently widened
// or narrowed.
func (c *Console) viewOf(ctx context.Context, q url.Values, s *session) (view, error) {
	me := s.me
	community, grid, worker := strings.TrimSpace(q.Get("community")), strings.TrimSpace(q.Get("grid")), strings.TrimSpace(q.Get("worker"))
	var v view
	switch me.Role {
	case flows.RoleAdmin:
	case flows.RoleSupervisor:
		if community != "" && community != me.Community {
			return v, errNotAllowed
		}
		community = me.Community
	default:
		if (worker != "" && worker != me.OpenID) || (grid != "" && grid != me.Grid) || (community != "" && community != me.Community) {
			return v, errNotAllowed
		}
		v = view{Scope: flows.Scope{Kind: flows.ScopeWorker, ID: me.OpenID}, Title: displayName(me), Community: me.Community,
			Worker: me.OpenID, Filters: url.Values{}, Workers: []flows.Worker{me}}
		return v, nil
	}
	all, err := c.Store.Workers(ctx)
	if err != nil {
		return v, err
	}
	if me.Role == flows.RoleAdmin {
		for _, w := range all {
			if !slices.Contains(v.Communities, w.Community) {
				v.Communities = append(v.Communities, w.Community)
			}
		}
		slices.Sort(v.Communities)
		if community == "" && grid != "" {
			// A grid picked without its community: the one community that
			// has it, when there is only one.
			var has []string
			for _, w := range all {
				if w.Grid == grid && !slices.Contains(has, w.Community) {
					has = append(has, w.Community)
				}
			}
			if len(has) == 1 {
				community = has[0]
			}
		}
	}
	v.Community, v.Filters = community, url.Values{}
	if me.Role == flows.RoleAdmin && community != "" {
		v.Filters.Set("community", community)
	}
	for _, w := range all {
		if community == "" || w.Community == community {
			v.Workers = append(v.Workers, w)
			if !slices.Contains(v.Grids, w.Grid) {
				v.Grids = append(v.Grids, w.Grid)
			}
		}
	}
	slices.SortFunc(v.Workers, func(a, b flows.Worker) int {
		return strings.Compare(a.Community+"\x00"+a.Grid+"\x00"+a.Name, b.Community+"\x00"+b.Grid+"\x00"+b.Name)
	})
	slices.Sort(v.Grids)
	switch {
	case worker != "":
		i := slices.IndexFunc(v.Workers, func(w flows.Worker) bool { return w.OpenID == worker })
		if i < 0 {
			return v, errNotAllowed
		}
		w := v.Workers[i]
		v.Scope, v.Worker, v.Grid, v.Community = flows.Scope{Kind: flows.ScopeWorker, ID: w.OpenID}, w.OpenID, w.Grid, w.Community
		v.Title = displayName(w) + "（" + w.Grid + "）"
		v.Filters.Set("worker", w.OpenID)
	case grid != "":
		if community == "" {
			return v, errNotAllowed // an admin names the community of a grid
		}
		v.Scope, v.Grid, v.Title = flows.Scope{Kind: flows.ScopeGrid, ID: community + "/" + grid}, grid, community+" "+grid
		v.Filters.Set("grid", grid)
	case community != "":
		v.Scope, v.Title = flows.Scope{Kind: flows.ScopeCommunity, ID: community}, community
	default:
		v.Scope, v.Title = flows.Scope{Kind: flows.ScopeAll}, "全部社区"
	}
	return v, nil
}

// mayTouch reports whether a supervisor may change a record of community.
func (s *session) mayTouch(community string) bool {
	return s.admin() || (s.me.Role == flows.RoleSupervisor && s.me.Community == community)
}

// mayView reports whether the user may see a report or follow-up of
// this community and worker.
func (s *session) mayView(community, worker string) bool {
	return s.mayTouch(community) || worker == s.me.OpenID
}

// viewOrFail resolves the view, answering 403 or a storage error itself.
func (c *Console) viewOrFail(w http.ResponseWriter, r *http.Request, s *session) (view, bool) {
	v, err := c.viewOf(r.Context(), r.URL.Query(), s)
	switch {
	case err == errNotAllowed:
		c.log().Warn("console: scope refused", "actor", s.OpenID, "path", r.URL.Path)
		c.fail(w, r, s, http.StatusForbidden, "你只能查看自己权限范围内的数字。")
		return v, false
	case err != nil:
		c.storeFail(w, r, s, "read workers", err)
		return v, false
	}
	return v, true
}

func urlEscape(s string) string { return url.QueryEscape(s) }
