package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const exportHelp = `gridbot export — 下载台帐 (download a ledger from the running bot)

Usage:
  gridbot export -scope S -period P [-format xlsx|csv|json] [-out FILE] [-include-void]
                 [-server URL] [-token T] [-config FILE]

bbolt locks its file against a second process, so export asks the running
"gridbot serve" through its admin API (GET /api/v1/reports).

  -scope    community:<社区> | grid:<社区>/<网格> | worker:<openid> | all
  -period   2026 | 2026-11 | 2026-11-05
  -format   xlsx (default, one sheet per report type), csv (UTF-8 with BOM) or json;
            guessed from -out's extension when not given
  -out      file to write (default ledger-<scope>-<period>.<format>; "-" for stdout)
  -server   the bot's address (default http://<http.addr> of the config)
  -token    the admin API token (default api.token of the config, or $GRIDBOT_API_TOKEN)

Example:
  gridbot export -scope community:幸福社区 -period 2026-11 -out 11月台帐.xlsx
`

// runExport downloads a ledger (台帐) from the running server's admin API
// into a file, showing the bytes received on stderr.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, exportHelp) }
	var api apiFlags
	api.register(fs)
	scope := fs.String("scope", "", "community:<id> | grid:<community>/<grid> | worker:<openid> | all")
	period := fs.String("period", "", "YYYY, YYYY-MM or YYYY-MM-DD")
	format := fs.String("format", "", "xlsx, csv or json")
	out := fs.String("out", "", "file to write, - for stdout")
	includeVoid := fs.Bool("include-void", false, "include voided reports, marked (作废)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gridbot export: unexpected argument %q\n\n%s", fs.Arg(0), exportHelp)
		return errExit1
	}
	if *scope == "" || *period == "" {
		fmt.Fprintf(stderr, "gridbot export: 请给出 -scope 和 -period，例如 -scope community:幸福社区 -period 2026-11\n")
		return errExit1
	}
	f := strings.ToLower(*format)
	if f == "" {
		switch strings.ToLower(filepath.Ext(*out)) {
		case ".csv":
			f = "csv"
		case ".json":
			f = "json"
		default:
			f = "xlsx"
		}
	}
	switch f {
	case "xlsx", "csv", "json":
	default:
		fmt.Fprintf(stderr, "gridbot export: -format 只能是 xlsx、csv 或 json，收到 %q\n", *format)
		return errExit1
	}
	client, err := api.client()
	if err != nil {
		return err
	}
	q := url.Values{"scope": {*scope}, "period": {*period}, "format": {f}}
	if *includeVoid {
		q.Set("include_void", "1")
	}
	resp, err := client.get(ctx, "/api/v1/reports", q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	path := *out
	if path == "" {
		path = "ledger-" + fileSafe(*scope) + "-" + *period + "." + f
	}
	progress := &progressWriter{w: stderr, total: resp.ContentLength, every: 500 * time.Millisecond}
	if path == "-" {
		_, err = io.Copy(stdout, io.TeeReader(resp.Body, progress))
		progress.done()
		return err
	}
	n, err := writeFileAtomic(path, io.TeeReader(resp.Body, progress))
	progress.done()
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stderr, "已保存 %s（%s）\n", path, humanBytes(n))
	return nil
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
				server = "http://" + cfg.HTTP.Addr
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
func writeFileAtomic(path string, r io.Reader) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
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

// fileSafe turns a scope into a file name part.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '/', '\\', ':', '*', '?', '"', '<', '>', '|':
			return '_'
		}
		return r
	}, s)
}
