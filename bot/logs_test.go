package bot

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestQuietSDKLogs(t *testing.T) {
	defer QuietSDKLogs(slog.LevelInfo)
	tests := []struct {
		level                 slog.Level
		debug, info, warnings bool // which logrus lines come out
	}{
		{slog.LevelDebug, true, true, true},
		{slog.LevelInfo, false, false, true},
		{slog.LevelWarn, false, false, true},
		{slog.LevelError, false, false, false},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		QuietSDKLogsTo(tt.level, &buf)
		logrus.Debug("sdk-debug <xml>raw message</xml>")
		logrus.Info("sdk-info <xml>raw message</xml>")
		logrus.Warn("sdk-warn")
		out := buf.String()
		got := [3]bool{bytes.Contains(buf.Bytes(), []byte("sdk-debug")), bytes.Contains(buf.Bytes(), []byte("sdk-info")), bytes.Contains(buf.Bytes(), []byte("sdk-warn"))}
		if got != [3]bool{tt.debug, tt.info, tt.warnings} {
			t.Errorf("level %v: debug/info/warn shown %v, want %v (%q)", tt.level, got, [3]bool{tt.debug, tt.info, tt.warnings}, out)
		}
	}
}
