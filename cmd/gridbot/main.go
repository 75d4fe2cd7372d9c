// Command gridbot runs the gridbot WeChat Official Account chatbot and its
// maintenance commands. main only parses the command line and handles
// signals; the work is in the run* functions, one file per command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `gridbot — 网格员上报机器人 (WeChat Official Account chatbot for grid workers)

Usage:
  gridbot serve   [-config FILE]                 run the bot: WeChat webhook, admin API, reminders
  gridbot chat    [-server URL] [-openid ID]     talk to a running bot as one WeChat user, from a terminal
  gridbot check   [-config FILE]                 recompute every tally from the reports; exit 1 on a difference
  gridbot backup  [-config FILE] FILE            write a consistent copy of the store, also while the bot runs
  gridbot migrate -from bbolt:FILE -to postgres:DSN  copy a bbolt store into PostgreSQL, then check it
  gridbot export  -scope S -period P -out FILE   download a ledger (台帐) as xlsx, csv or json
  gridbot summary -scope S -year YYYY            the year's figures as an annual work summary paragraph
  gridbot import  households FILE                import a household roster (xlsx or csv) and open its follow-ups
  gridbot menu    sync                           create the default menu on WeChat

Run "gridbot COMMAND -help" for a command's options. With no config file,
gridbot runs on embedded defaults: bbolt in ./gridbot.db, no Redis, local mode.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errExit1):
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "gridbot:", err)
		os.Exit(1)
	}
}

// errExit1 ends the process with status 1 without printing more.
var errExit1 = errors.New("exit 1")

// run dispatches a command line to its command.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errExit1
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "chat":
		return runChat(ctx, rest, os.Stdin, stdout, stderr)
	case "check":
		return runCheck(ctx, rest, stdout, stderr)
	case "backup":
		return runBackup(ctx, rest, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "export":
		return runExport(ctx, rest, stdout, stderr)
	case "summary":
		return runSummary(ctx, rest, stdout, stderr)
	case "import":
		return runImport(ctx, rest, stdout, stderr)
	case "menu":
		return runMenu(ctx, rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "gridbot: unknown command %q\n\n%s", cmd, usage)
	return errExit1
}
