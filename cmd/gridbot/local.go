package main

import (
	"encoding/json"
	"net/http"
	"time"

	"gridbot/bot"
	"gridbot/flows"
)

// Demo community and grid that `gridbot chat` binds its user to in local mode.
const (
	demoCommunity = "演示社区"
	demoGrid      = "第一网格"
)

// localInvite answers POST /local/invite {"openid": …} in local mode, from
// this machine only: {"bound": true} when the user is already bound,
// otherwise a fresh one-hour invite {"code": …} that the chat client then
// redeems through the webhook like any new worker ("绑定 <code>").
type localInvite struct {
	Store flows.Store
	Now   func() time.Time
}

func (h *localInvite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	if !isLoopback(r) {
		http.Error(w, "local mode only answers this machine", http.StatusForbidden)
		return
	}
	var req struct {
		OpenID string `json:"openid"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil || req.OpenID == "" {
		http.Error(w, `want {"openid": "..."}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, err := h.Store.Worker(r.Context(), req.OpenID)
	if err == nil {
		json.NewEncoder(w).Encode(map[string]bool{"bound": true})
		return
	}
	if flows.ErrorCode(err) != flows.ENotFound {
		http.Error(w, "storage unavailable", http.StatusServiceUnavailable)
		return
	}
	code, err := bot.NewInviteCode()
	if err != nil {
		http.Error(w, "no randomness", http.StatusInternalServerError)
		return
	}
	inv := flows.Invite{Code: code, Community: demoCommunity, Grid: demoGrid, Role: flows.RoleSupervisor,
		ExpiresAt: h.Now().Add(time.Hour)}
	if err := h.Store.CreateInvite(r.Context(), inv); err != nil {
		http.Error(w, "storage unavailable", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]string{"code": code})
}
