package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"gridbot/storage"
)

// check and backup work on the store file directly when no bot has it
// open, and otherwise through the running bot's admin API.

// storeCommand parses the flags shared by check and backup and opens the
// store when it is free; db is nil when the running bot holds it, and
// client then reaches that bot.
func storeCommand(name, usage string, args []string, stderr io.Writer, nargs int) (db *storage.DB, client *apiClient, cfg Config, rest []string, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var api apiFlags
	api.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err = fs.Parse(args); err != nil {
		return
	}
	if fs.NArg() != nargs {
		fs.Usage()
		err = errExit1
		return
	}
	rest = fs.Args()
	if cfg, err = ReadConfigFile(api.config, environ()); err != nil {
		return
	}
	path := cfg.Storage.Path
	if !fileExists(path) {
		err = fmt.Errorf("no store at %s (storage.path)", path)
		return
	}
	db, err = storage.Open(path, storage.Options{Timeout: 300 * time.Millisecond})
	if !errors.Is(err, storage.ErrInUse) {
		return
	}
	if client, err = api.client(); err != nil {
		err = fmt.Errorf("%s is in use by the running bot: %w", path, err)
		return
	}
	fmt.Fprintf(stderr, "%s is in use: going through %s\n", path, client.base)
	return
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	db, client, cfg, _, err := storeCommand("check", `Usage: gridbot check [-config FILE]

Recomputes every tally, the distinct households (户) and the roster coverage
from the stored reports and roster, and lists each difference.
Exit status 0 when the store is consistent, 1 when a tally differs.
Works on the store file, or through the running bot when it has the file
open (then with the admin token: -token, api.token or GRIDBOT_API_TOKEN).

`, args, stderr, 0)
	if err != nil {
		return err
	}
	var diffs []string
	if db != nil {
		defer db.Close()
		fmt.Fprintf(stderr, "checking %s\n", cfg.Storage.Path)
		if diffs, err = db.Check(ctx); err != nil {
			return err
		}
	} else {
		resp, err := client.get(ctx, "/api/v1/admin/check", nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var got struct {
			Diffs []string `json:"diffs"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			return fmt.Errorf("check: unexpected answer from the bot: %w", err)
		}
		diffs = got.Diffs
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
	db, client, cfg, rest, err := storeCommand("backup", `Usage: gridbot backup [-config FILE] FILE

Writes a consistent copy of the store to FILE, also while the bot runs
(then through its admin API, with -token, api.token or GRIDBOT_API_TOKEN).
The copy is a bbolt file that "gridbot serve" can open as storage.path.

`, args, stderr, 1)
	if err != nil {
		return err
	}
	out := rest[0]
	if abs(out) == abs(cfg.Storage.Path) {
		if db != nil {
			db.Close()
		}
		return fmt.Errorf("backup: %s is the store itself", out)
	}
	var r io.Reader
	if db != nil {
		pr, pw := io.Pipe()
		go func() {
			_, err := db.Backup(pw)
			pw.CloseWithError(err)
		}()
		defer db.Close()
		r = pr
	} else {
		resp, err := client.get(ctx, "/api/v1/admin/backup", nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		r = resp.Body
	}
	// A copy that does not open is no backup: check it before it takes the name.
	n, err := writeFileAtomic(out, r, func(tmp string) error {
		cp, err := storage.Open(tmp, storage.Options{})
		if err != nil {
			return fmt.Errorf("the copy does not open: %w", err)
		}
		return cp.Close()
	})
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s (%s)\n", out, humanBytes(n))
	return nil
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
