package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gridbot/storage"
)

// The maintenance commands work on the store file directly when no bot has
// it open, and otherwise through the running bot's admin API (bbolt locks
// its file against a second process).

type maintFlags struct {
	fs         *flag.FlagSet
	configPath *string
	server     *string
	token      *string
}

func newMaintFlags(name, usage string, stderr io.Writer) *maintFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	m := &maintFlags{fs: fs}
	m.configPath = fs.String("config", "", "the bot's config `file` (none: the defaults)")
	m.server = fs.String("server", "", "base `URL` of the running bot, used when its store is locked (default: from http.addr)")
	m.token = fs.String("token", "", "admin API bearer `token` (default: api.token of the config, or GRIDBOT_API_TOKEN)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return m
}

func (m *maintFlags) config() (Config, string, string, error) {
	cfg, err := ReadConfigFile(*m.configPath, environ())
	if err != nil {
		return cfg, "", "", err
	}
	server, token := *m.server, *m.token
	if server == "" {
		addr := cfg.HTTP.Addr
		if strings.HasPrefix(addr, ":") || strings.HasPrefix(addr, "0.0.0.0:") {
			addr = "127.0.0.1:" + addr[strings.LastIndex(addr, ":")+1:]
		}
		server = "http://" + addr
	}
	if token == "" {
		token = cfg.API.Token
	}
	return cfg, strings.TrimRight(server, "/"), token, nil
}

// openIfFree opens the store when no other process holds it; inUse is true
// when the running bot has it.
func openIfFree(path string) (db *storage.DB, inUse bool, err error) {
	if !fileExists(path) {
		return nil, false, fmt.Errorf("no store at %s (storage.path)", path)
	}
	db, err = storage.Open(path, storage.Options{Timeout: 300 * time.Millisecond})
	if errors.Is(err, storage.ErrInUse) {
		return nil, true, nil
	}
	return db, false, err
}

// apiGet calls the running bot's admin API.
func apiGet(ctx context.Context, server, token, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the store is in use and the bot at %s does not answer: %w", server, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		resp.Body.Close()
		return nil, fmt.Errorf("the bot at %s refused the admin token: give the bot an api.token (or GRIDBOT_API_TOKEN) and pass the same here with -token", server)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		resp.Body.Close()
		return nil, fmt.Errorf("%s%s: %s %s", server, path, resp.Status, strings.TrimSpace(string(b)))
	}
	return resp, nil
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMaintFlags("check", `Usage: gridbot check [-config FILE]

Recomputes every tally from the stored reports and lists each difference.
Exit status 0 when the store is consistent, 1 when a tally differs.
Works on the store file, or through the running bot when it has the file open.

`, stderr)
	if err := m.fs.Parse(args); err != nil {
		return err
	}
	cfg, server, token, err := m.config()
	if err != nil {
		return err
	}
	db, inUse, err := openIfFree(cfg.Storage.Path)
	if err != nil {
		return err
	}
	var diffs []string
	if inUse {
		fmt.Fprintf(stderr, "%s is in use: checking through %s\n", cfg.Storage.Path, server)
		resp, err := apiGet(ctx, server, token, "/api/v1/admin/check")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var got struct {
			Diffs []string `json:"diffs"`
		}
		if err := decodeJSONBody(resp.Body, &got); err != nil {
			return err
		}
		diffs = got.Diffs
	} else {
		defer db.Close()
		fmt.Fprintf(stderr, "checking %s\n", cfg.Storage.Path)
		if diffs, err = db.Check(ctx); err != nil {
			return err
		}
	}
	for _, d := range diffs {
		fmt.Fprintln(stdout, d)
	}
	if len(diffs) > 0 {
		fmt.Fprintf(stdout, "%d tallies differ from their reports\n", len(diffs))
		return errExit1
	}
	fmt.Fprintln(stdout, "ok: every tally matches its reports")
	return nil
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMaintFlags("backup", `Usage: gridbot backup [-config FILE] FILE

Writes a consistent copy of the store to FILE, also while the bot runs
(then through its admin API). The copy is a bbolt file that "gridbot serve"
can open as storage.path.

`, stderr)
	if err := m.fs.Parse(args); err != nil {
		return err
	}
	if m.fs.NArg() != 1 {
		m.fs.Usage()
		return errExit1
	}
	out := m.fs.Arg(0)
	cfg, server, token, err := m.config()
	if err != nil {
		return err
	}
	if abs(out) == abs(cfg.Storage.Path) {
		return fmt.Errorf("backup: %s is the store itself", out)
	}
	db, inUse, err := openIfFree(cfg.Storage.Path)
	if err != nil {
		return err
	}
	tmp := out + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		if db != nil {
			db.Close()
		}
		return err
	}
	defer os.Remove(tmp)
	var n int64
	if inUse {
		fmt.Fprintf(stderr, "%s is in use: backing up through %s\n", cfg.Storage.Path, server)
		resp, err := apiGet(ctx, server, token, "/api/v1/admin/backup")
		if err != nil {
			f.Close()
			return err
		}
		n, err = io.Copy(f, resp.Body)
		resp.Body.Close()
		if err != nil {
			f.Close()
			return fmt.Errorf("backup: download: %w", err)
		}
	} else {
		n, err = db.Backup(f)
		db.Close()
		if err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// A copy that does not open is no backup: check it before it takes the name.
	cp, err := storage.Open(tmp, storage.Options{})
	if err != nil {
		return fmt.Errorf("backup: the copy does not open: %w", err)
	}
	cp.Close()
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", out, n)
	return nil
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

func decodeJSONBody(r io.Reader, v any) error {
	if err := json.NewDecoder(r).Decode(v); err != nil {
		return fmt.Errorf("unexpected answer from the bot: %w", err)
	}
	return nil
}
