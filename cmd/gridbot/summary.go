package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
)

const summaryHelp = `gridbot summary — 全年工作总结数字 (the year's figures as an annual work summary paragraph)

Usage:
  gridbot summary -scope S [-year YYYY] [-json] [-server URL] [-token T] [-config FILE]

Asks the running "gridbot serve" (GET /api/v1/summary) and prints the paragraph,
ready to paste into the year's work summary; -json prints the figures too.

  -scope    community:<社区> (also grid:<社区>/<网格>, worker:<openid>, all)
  -year     the year (default this year)
  -json     print the API's JSON answer instead of the paragraph
  -server   the bot's address (default http://<http.addr> of the config)
  -token    the admin API token (default api.token of the config, or $GRIDBOT_API_TOKEN)

Example:
  gridbot summary -scope community:幸福社区 -year 2026
`

// runSummary prints a scope's annual work summary paragraph, fetched from
// the running server's admin API.
func runSummary(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("summary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, summaryHelp) }
	var api apiFlags
	api.register(fs)
	scope := fs.String("scope", "", "community:<id>")
	year := fs.Int("year", time.Now().Year(), "YYYY")
	asJSON := fs.Bool("json", false, "print the JSON answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gridbot summary: unexpected argument %q\n\n%s", fs.Arg(0), summaryHelp)
		return errExit1
	}
	if *scope == "" {
		fmt.Fprintln(stderr, "gridbot summary: 请给出 -scope，例如 -scope community:幸福社区")
		return errExit1
	}
	if *year < 1000 || *year > 9999 {
		fmt.Fprintf(stderr, "gridbot summary: -year 应为四位年份，收到 %d\n", *year)
		return errExit1
	}
	client, err := api.client()
	if err != nil {
		return err
	}
	resp, err := client.get(ctx, "/api/v1/summary", url.Values{"scope": {*scope}, "year": {strconv.Itoa(*year)}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("summary: reading the answer: %w", err)
	}
	if *asJSON {
		_, err = stdout.Write(body)
		return err
	}
	var s struct {
		Paragraph string `json:"paragraph"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return fmt.Errorf("summary: the bot answered something that is not a summary: %w", err)
	}
	_, err = fmt.Fprintln(stdout, s.Paragraph)
	return err
}
