package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"gridbot/flows"
	"gridbot/storage"
	"gridbot/storage/postgres"
)

const migrateUsage = `Usage: gridbot migrate -from bbolt:FILE -to postgres:DSN

Copies a bbolt store into a PostgreSQL database: workers, invites,
follow-ups, reports (with their kinds, times and follow-up effects),
tallies, digest claims and attempts, kept notices, the last digest run,
the household roster and its distinct-household and coverage counts, with
their ids. Then runs "check" on the database: every tally, household count
and coverage figure is recomputed from the copied reports and roster
(exit status 1 when one differs).

The schema is created in the database when it has none. Running it again
is safe: records already copied are replaced by the source's, nothing is
added twice, and tallies, household and coverage counts and kept notices
are copied afresh. The database
is meant for this installation only and not yet in service: no node may
write to it during a migration. Progress goes to stderr.

The bbolt file must not be in use: stop the bot first, or copy a running
bot's store with "gridbot backup FILE" and migrate the copy (then run the
migration again from a fresh backup right before switching over).

Example:
  gridbot migrate -from bbolt:/var/lib/gridbot/gridbot.db \
    -to postgres:postgres://gridbot@db.example:5432/gridbot?sslmode=require

Then set [storage] driver = "postgres" and dsn, and [redis] addr, on every
node (see README, "Several servers").

`

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "source store: bbolt:`FILE`")
	to := fs.String("to", "", "target database: postgres:`DSN` (postgres://user@host:5432/db)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), migrateUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *from == "" || *to == "" {
		fs.Usage()
		return errExit1
	}
	path, ok := strings.CutPrefix(*from, "bbolt:")
	if !ok || path == "" {
		return fmt.Errorf("migrate: -from %q: want bbolt:FILE", *from)
	}
	dsn, ok := strings.CutPrefix(*to, "postgres:")
	if strings.HasPrefix(*to, "postgres://") || strings.HasPrefix(*to, "postgresql://") {
		dsn, ok = *to, true
	}
	if !ok || !(strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")) {
		return fmt.Errorf("migrate: -to %q: want postgres:postgres://user@host:5432/db", *to)
	}
	if !fileExists(path) {
		return fmt.Errorf("migrate: no store at %s", path)
	}
	src, err := storage.Open(path, storage.Options{Timeout: 300 * time.Millisecond})
	if errors.Is(err, storage.ErrInUse) {
		return fmt.Errorf("migrate: %s is in use by a running bot: stop it, or migrate a copy made with \"gridbot backup FILE\"", path)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, dsn)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer dst.Close()
	target := dsnName(dsn)
	fmt.Fprintf(stderr, "copying %s into %s\n", path, target)

	start := time.Now()
	l := &progressLoader{Loader: dst.Loader(), w: stderr, every: 10000}
	if err := l.Reset(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	err = src.Dump(ctx, l, func(kind string, n int) {
		fmt.Fprintf(stderr, "  %-18s %d\n", kind+":", n)
		l.kind, l.n = "", 0
	})
	if err == nil {
		err = l.Flush(ctx)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(stderr, "copied in %s; checking the counts against the reports and roster\n", time.Since(start).Round(time.Millisecond))
	diffs, err := dst.Check(ctx)
	if err != nil {
		return fmt.Errorf("migrate: check: %w", err)
	}
	for _, d := range diffs {
		fmt.Fprintln(stdout, d)
	}
	if len(diffs) > 0 {
		fmt.Fprintf(stdout, "%d counts differ from their reports in %s (run \"gridbot check\" on the source too)\n", len(diffs), target)
		return errExit1
	}
	fmt.Fprintf(stdout, "ok: %s copied into %s; every tally matches its reports\n", path, target)
	return nil
}

// progressLoader is a postgres.Loader that prints a line every `every`
// records of a kind, so a long copy shows it is moving.
type progressLoader struct {
	*postgres.Loader
	w     io.Writer
	every int
	kind  string
	n     int
}

func (p *progressLoader) tick(kind string) {
	if p.kind != kind {
		p.kind, p.n = kind, 0
	}
	if p.n++; p.n%p.every == 0 {
		fmt.Fprintf(p.w, "  %s: %d…\n", kind, p.n)
	}
}

func (p *progressLoader) LoadReport(ctx context.Context, r flows.Report) error {
	p.tick("reports")
	return p.Loader.LoadReport(ctx, r)
}

func (p *progressLoader) LoadFollowUp(ctx context.Context, f flows.FollowUp) error {
	p.tick("follow-ups")
	return p.Loader.LoadFollowUp(ctx, f)
}

func (p *progressLoader) LoadTally(ctx context.Context, e storage.TallyEntry) error {
	p.tick("tallies")
	return p.Loader.LoadTally(ctx, e)
}
