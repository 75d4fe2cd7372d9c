package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Commands other than serve and chat that need the live store talk to the
// running bot's admin API: bbolt locks its file against a second process.

// localURL turns a listen address (http.addr) into a URL to reach it from
// this machine: ":8080" and "0.0.0.0:8080" become http://127.0.0.1:8080.
func localURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// apiFlags are the flags of every command that talks to the running
// server's admin API.
type apiFlags struct {
	server, token, config string
}

func (a *apiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.server, "server", "", "the running bot, e.g. http://127.0.0.1:8080 (default from the config's http.addr)")
	fs.StringVar(&a.token, "token", "", "admin API token (default from the config's api.token or $GRIDBOT_API_TOKEN)")
	fs.StringVar(&a.config, "config", "", "config file to take -server and -token from")
}

// client fills what was not given on the command line from the config file
// (or the defaults and GRIDBOT_* environment when there is none).
func (a *apiFlags) client() (*apiClient, error) {
	server, token := a.server, a.token
	if server == "" || token == "" {
		cfg, err := ReadConfigFile(a.config, os.Environ())
		if err != nil && (a.config != "" || (server == "" && token == "")) {
			return nil, err
		}
		if err == nil {
			if server == "" {
				server = localURL(cfg.HTTP.Addr)
			}
			if token == "" {
				token = cfg.API.Token
			}
		}
	}
	if server == "" {
		return nil, errors.New("no server: give -server URL")
	}
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	if token == "" {
		return nil, errors.New("no admin API token: give -token, or set api.token in the config or GRIDBOT_API_TOKEN")
	}
	return &apiClient{base: strings.TrimRight(server, "/"), token: token, http: &http.Client{}}, nil
}

// apiClient calls the admin API with its bearer token.
type apiClient struct {
	base, token string
	http        *http.Client
}

// get returns the response of a successful GET; any other status becomes an
// error carrying the API's message.
func (c *apiClient) get(ctx context.Context, path string, q url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the bot at %s (is gridbot serve running?): %w", c.base, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil {
		if e.Message != "" {
			msg = e.Message
		} else if e.Error != "" {
			msg = e.Error
		}
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, fmt.Errorf("the bot refused the token (401): check -token / api.token")
	}
	return nil, fmt.Errorf("%s %s: %s: %s", req.Method, path, resp.Status, msg)
}

// progressWriter counts the bytes that pass and prints the count to w at
// most once per interval.
type progressWriter struct {
	w      io.Writer
	total  int64 // -1 when unknown
	every  time.Duration
	n      int64
	last   time.Time
	shown  bool
	starts time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if p.starts.IsZero() {
		p.starts = time.Now()
		p.last = p.starts
	}
	p.n += int64(len(b))
	if now := time.Now(); now.Sub(p.last) >= p.every {
		p.last = now
		p.print()
	}
	return len(b), nil
}

func (p *progressWriter) print() {
	p.shown = true
	if p.total > 0 {
		fmt.Fprintf(p.w, "\r已接收 %s / %s", humanBytes(p.n), humanBytes(p.total))
		return
	}
	fmt.Fprintf(p.w, "\r已接收 %s", humanBytes(p.n))
}

// done ends the progress line, if one was shown.
func (p *progressWriter) done() {
	if p.shown {
		p.print()
		fmt.Fprintln(p.w)
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d 字节", n)
}

// writeFileAtomic writes r to a temporary file beside path and renames it
// into place, so a broken download never leaves a half file under path.
// verify, when not nil, checks the complete temporary file first.
func writeFileAtomic(path string, r io.Reader, verify func(tmp string) error) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(tmp, r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && verify != nil {
		err = verify(tmp.Name())
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return n, err
	}
	return n, nil
}
