package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// apiClient calls gridbot's admin API (/api/v1) with the bearer token.
type apiClient struct {
	base  string // e.g. http://127.0.0.1:8080
	token string
	http  *http.Client
}

func (a *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin API %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("admin API %s %s: %w", method, path, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("admin API refused the token (401): give the bot's api.token with -token " +
			"(a bot without one, such as plain \"gridbot serve\", needs GRIDBOT_API_TOKEN set)")
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("admin API %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("admin API %s %s: unreadable answer: %w", method, path, err)
	}
	return nil
}

// invite creates a one-time worker invite to community/grid and returns its code.
func (a *apiClient) invite(ctx context.Context, community, grid string) (string, error) {
	var out struct {
		Code string `json:"code"`
	}
	err := a.do(ctx, http.MethodPost, "/api/v1/invites",
		map[string]string{"community": community, "grid": grid, "role": "worker"}, &out)
	if err == nil && out.Code == "" {
		err = fmt.Errorf("admin API POST /api/v1/invites: no code in the answer")
	}
	return out.Code, err
}

// tallies reads the counts of scope in period.
func (a *apiClient) tallies(ctx context.Context, scope, period string) (map[string]float64, error) {
	var out struct {
		Counts map[string]float64 `json:"counts"`
	}
	q := url.Values{"scope": {scope}, "period": {period}}
	if err := a.do(ctx, http.MethodGet, "/api/v1/tallies?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	if out.Counts == nil {
		out.Counts = map[string]float64{}
	}
	return out.Counts, nil
}
