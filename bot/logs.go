package bot

import (
	"io"
	"log/slog"
	"os"

	"github.com/sirupsen/logrus"
)

// QuietSDKLogs sets the level and output of the global logrus logger, which
// the WeChat SDK logs through and which its init sets to debug on stdout
// (where it would print raw messages). The SDK's info and debug lines may
// carry message contents, so they are shown only when gridbot's own level
// is debug: at slog info logrus is set to warn.
func QuietSDKLogs(level slog.Level) {
	QuietSDKLogsTo(level, os.Stderr)
}

// QuietSDKLogsTo is QuietSDKLogs writing to w.
func QuietSDKLogsTo(level slog.Level, w io.Writer) {
	logrus.SetOutput(w)
	switch {
	case level <= slog.LevelDebug:
		logrus.SetLevel(logrus.DebugLevel)
	case level <= slog.LevelWarn:
		logrus.SetLevel(logrus.WarnLevel)
	default:
		logrus.SetLevel(logrus.ErrorLevel)
	}
}
