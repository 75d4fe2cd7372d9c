package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"gridbot/storage"
)

// check and backup work on the store file directly when no bot has it
// open, and otherwise through the running bot's admin API. With driver
// postgres they work on the database directly, also while bots run.

// storeCommand parses the flags shared by check and backup and opens the
// store when it is free; db is nil when the running bot holds it, and
// client then reaches that bot.
func storeCommand(ctx context.Context, name, usage string, args []string, stderr io.Writer, nargs int) (db Store, client *apiClient, cfg Config, rest []string, err error) {
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
	if cfg.Storage.Driver == "postgres" {
		db, _, err = openStore(ctx, &cfg, storage.Options{})
		return
	}
	path := cfg.Storage.Path
	if !fileExists(path) {
		err = fmt.Errorf("no store at %s (storage.path)", path)
		return
	}
	db, _, err = openStore(ctx, &cfg, storage.Options{Timeout: 300 * time.Millisecond})
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
	db, client, cfg, _, err := storeCommand(ctx, "check", `Usage: gridbot check [-config FILE]

Reads every page of the store (a damaged file is reported with what to
do), then recomputes every tally, the distinct households (户) and the
roster coverage from the stored reports and roster, and lists each
difference. Exit status 0 when the store is sound and consistent, 1 when it
is damaged or a count differs.
Works on the store file, or through the running bot when it has the file
open (then with the admin token: -token, api.token or GRIDBOT_API_TOKEN).

`, args, stderr, 0)
	if err != nil {
		return err
	}
	var diffs []string
	if db != nil {
		defer db.Close()
		fmt.Fprintf(stderr, "checking %s\n", storeName(&cfg))
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
		fmt.Fprintf(stdout, "%d stored counts differ from their reports (tallies; \"households\": a household's visit counts; \"coverage\": roster coverage)\n", len(diffs))
		return errExit1
	}
	fmt.Fprintln(stdout, "ok: every tally matches its reports")
	return nil
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	db, client, cfg, rest, err := storeCommand(ctx, "backup", `Usage: gridbot backup [-config FILE] FILE

Writes a consistent copy of the store to FILE, also while the bot runs
(then through its admin API, with -token, api.token or GRIDBOT_API_TOKEN).
The copy is a bbolt file that "gridbot serve" can open as storage.path; it
is opened and every page read before it takes FILE's name. To restore: stop
the bot, move the old file aside, copy FILE to storage.path, run
"gridbot check", start the bot. With storage.driver postgres the copy is an
export of one consistent snapshot of the database into that bbolt format;
for PostgreSQL's own backups use pg_dump.

`, args, stderr, 1)
	if err != nil {
		return err
	}
	out := rest[0]
	if cfg.Storage.Driver != "postgres" && abs(out) == abs(cfg.Storage.Path) {
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

// storeName names the configured store for messages, without the DSN's
// password.
func storeName(cfg *Config) string {
	if cfg.Storage.Driver != "postgres" {
		return cfg.Storage.Path
	}
	return dsnName(cfg.Storage.DSN)
}

// dsnName is a DSN without its user, password and parameters.
func dsnName(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return "postgres://" + u.Host + u.Path
	}
	return "the postgres database"
}
