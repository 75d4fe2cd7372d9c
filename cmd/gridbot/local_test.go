package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLocalModeTokenOutOfTheBox: with no api.token, serve generates one on
// first run, keeps it beside the store (0600) and keeps it across
// restarts; check and summary find it themselves while serve runs.
func TestLocalModeTokenOutOfTheBox(t *testing.T) {
	store := filepath.Join(t.TempDir(), "gridbot.db")
	t.Setenv("GRIDBOT_STORAGE_PATH", store)
	t.Setenv("GRIDBOT_API_TOKEN", "")
	env := []string{"GRIDBOT_HTTP_ADDR=127.0.0.1:0", "GRIDBOT_STORAGE_PATH=" + store}
	m := runMainFor(t, "", env)
	fi, err := os.Stat(store + ".api-token")
	if err != nil {
		t.Fatalf("no token file beside the store: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	token := m.Server.API.Token
	if len(token) < 32 || readTokenFile(&m.Config) != token {
		t.Fatalf("API token %q, file %q", token, readTokenFile(&m.Config))
	}
	var out, errOut bytes.Buffer
	if err := runCheck(context.Background(), []string{"-server", m.URL()}, &out, &errOut); err != nil {
		t.Fatalf("check while serving: %v\n%s%s", err, out.String(), errOut.String())
	}
	out.Reset()
	if err := runSummary(context.Background(), []string{"-server", m.URL(), "-scope", "community:演示社区", "-year", "2026"}, &out, &errOut); err != nil {
		t.Fatalf("summary while serving: %v\n%s", err, errOut.String())
	}
	m.Close()
	m2 := runMainFor(t, "", env)
	if m2.Server.API.Token != token {
		t.Fatal("a restart generated another token")
	}
}

// syncBuffer is a bytes.Buffer safe for the chat's concurrent printing.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestChatShowsPushesSinceLastRun: a push that arrived while chat was
// closed (a reminder run) is shown when it starts again.
func TestChatShowsPushesSinceLastRun(t *testing.T) {
	store := filepath.Join(t.TempDir(), "gridbot.db")
	t.Setenv("GRIDBOT_STORAGE_PATH", store)
	t.Setenv("GRIDBOT_API_TOKEN", "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	m := runMainFor(t, "", []string{"GRIDBOT_HTTP_ADDR=127.0.0.1:0", "GRIDBOT_STORAGE_PATH=" + store})
	const openID = "o-chat-pushes"
	ctx := context.Background()
	m.Outbox.SendText(ctx, openID, "很久以前的推送")

	// chat runs until its output contains want, then quits.
	chat := func(want string) string {
		t.Helper()
		in, w := io.Pipe()
		out := &syncBuffer{}
		done := make(chan error, 1)
		go func() { done <- runChat(ctx, []string{"-server", m.URL(), "-openid", openID}, in, out, out) }()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(out.String(), want) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		io.WriteString(w, "/quit\n")
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	first := chat("已连接")
	if strings.Contains(first, "很久以前") {
		t.Errorf("the first run showed an old push:\n%s", first)
	}
	m.Outbox.SendText(ctx, openID, "📌 提醒：3-2-201 慢病随访已逾期")
	second := chat("逾期")
	if !strings.Contains(second, "上次之后的推送") || !strings.Contains(second, "3-2-201 慢病随访已逾期") {
		t.Fatalf("the second run did not show the push made while chat was closed:\n%s", second)
	}
}
