package console

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"gridbot/bot"
	"gridbot/flows"
)

// peopleData is the 人员 page's data.
type peopleData struct {
	View  view
	Roles []flows.Role // roles the user may invite
}

// people is 人员: the workers of the scope with their roles and grids,
// and the form to invite one.
func (c *Console) people(w http.ResponseWriter, r *http.Request, s *session) {
	v, ok := c.viewOrFail(w, r, s)
	if !ok {
		return
	}
	d := &peopleData{View: v, Roles: invitable(s)}
	c.render(w, r, http.StatusOK, "people", &page{Title: "人员", Nav: "people", S: s, Data: d})
}

// invitable are the roles a user may hand out: a supervisor workers and
// supervisors of their community, an admin any.
func invitable(s *session) []flows.Role {
	if s.admin() {
		return []flows.Role{flows.RoleWorker, flows.RoleSupervisor, flows.RoleAdmin}
	}
	return []flows.Role{flows.RoleWorker, flows.RoleSupervisor}
}

// inviteDays is how long a console invite (and its QR code) is valid.
const inviteDays = bot.DefaultInviteDays

// createInvite makes a one-time invite for a grid and role and shows it.
func (c *Console) createInvite(w http.ResponseWriter, r *http.Request, s *session) {
	community := s.me.Community
	if s.admin() {
		if cm := strings.TrimSpace(r.PostFormValue("community")); cm != "" {
			community = cm
		}
	}
	grid := strings.TrimSpace(r.PostFormValue("grid"))
	role := flows.Role(r.PostFormValue("role"))
	allowed := false
	for _, x := range invitable(s) {
		allowed = allowed || x == role
	}
	if grid == "" || utf8.RuneCountInString(grid) > 30 || community == "" || !allowed {
		c.fail(w, r, s, http.StatusBadRequest, "请填写网格并选择角色。")
		return
	}
	inv := flows.Invite{Community: community, Grid: grid, Role: role,
		ExpiresAt: c.now().Add(inviteDays * 24 * time.Hour).Truncate(time.Second)}
	var err error
	for range 5 {
		if inv.Code, err = bot.NewInviteCode(); err != nil {
			break
		}
		if err = c.Store.CreateInvite(r.Context(), inv); codeOf(err) != flows.EConflict {
			break
		}
	}
	if err != nil {
		c.storeFail(w, r, s, "create invite", err)
		return
	}
	c.log().Info("console: invite created", "actor", s.OpenID, "community", community, "grid", grid, "role", role)
	// The store keeps the invite; its QR code and details for this page are
	// kept beside it for as long as it is valid.
	meta := inviteMeta{Community: community, Grid: grid, Role: role, Expires: inv.ExpiresAt}
	ttl := inv.ExpiresAt.Sub(c.now())
	if meta.QR, err = c.WeChat.CreateQR(r.Context(), InviteScenePrefix+inv.Code, ttl); err != nil {
		c.log().Warn("console: invite QR code not created", "err", err)
	}
	b, _ := json.Marshal(meta)
	if err := c.KV.Set(r.Context(), c.key("invite", inv.Code), b, ttl); err != nil {
		c.storeFail(w, r, s, "keep invite", err)
		return
	}
	http.Redirect(w, r, "/console/people/invite/"+inv.Code, http.StatusSeeOther)
}

// inviteMeta is an invite as its page shows it, with its QR content.
type inviteMeta struct {
	Community string     `json:"community"`
	Grid      string     `json:"grid"`
	Role      flows.Role `json:"role"`
	Expires   time.Time  `json:"expires"`
	QR        string     `json:"qr,omitempty"`
}

// inviteData is the page of a new invite.
type inviteData struct {
	Code, Community, Grid, Role string
	Expires                     string
	Scene                       string
	QR                          template.HTML
	QRError                     string
	Local                       bool
}

// invitePage shows an invite as a QR code (scanning it follows the account
// and binds in one step) and as the code to type.
func (c *Console) invitePage(w http.ResponseWriter, r *http.Request, s *session) {
	code := r.PathValue("code")
	if len(code) != bot.InviteCodeLen {
		c.fail(w, r, s, http.StatusNotFound, "找不到这个邀请码。")
		return
	}
	b, err := c.KV.Get(r.Context(), c.key("invite", code))
	var meta inviteMeta
	if err == nil {
		err = json.Unmarshal(b, &meta)
	}
	if err != nil {
		c.fail(w, r, s, http.StatusNotFound, "找不到这个邀请码，或已过期。")
		return
	}
	if !s.mayTouch(meta.Community) {
		c.fail(w, r, s, http.StatusForbidden, "只能查看本社区的邀请码。")
		return
	}
	d := &inviteData{Code: code, Community: meta.Community, Grid: meta.Grid, Role: roleName(meta.Role),
		Expires: meta.Expires.In(c.zone()).Format("2006-01-02 15:04"), Scene: InviteScenePrefix + code, Local: c.isLocal()}
	if meta.QR != "" {
		d.QR = qrSVG(meta.QR)
	} else {
		d.QRError = "二维码暂时无法生成（需要已认证的服务号）。请把邀请码发给对方，在公众号里发送“绑定 " + code + " 姓名”。"
	}
	c.render(w, r, http.StatusOK, "invite", &page{Title: "邀请网格员", Nav: "people", S: s, Data: d})
}
