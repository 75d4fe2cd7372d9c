package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
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
	n, err := writeFileAtomic(path, io.TeeReader(resp.Body, progress), nil)
	progress.done()
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stderr, "已保存 %s（%s）\n", path, humanBytes(n))
	return nil
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
