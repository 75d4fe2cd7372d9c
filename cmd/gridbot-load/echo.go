package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/silenceper/wechat/v2"
	"github.com/silenceper/wechat/v2/cache"
	offConfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/sirupsen/logrus"
)

// echoHandler is the silenceper/wechat SDK's own server answering every
// message with its text: the "bare SDK echo" baseline gridbot is measured
// against. It is bot/wxtest.SDKEcho's approach (one OfficialAccount, a
// Server per request: GetServer, SetMessageHandler, Serve, Send), answering
// the text back instead of a fixed reply. An empty encodingAESKey is plain
// mode. It silences the SDK's logrus output (process-wide), which would
// log every message.
func echoHandler(token, appID, encodingAESKey string) http.Handler {
	logrus.SetLevel(logrus.ErrorLevel)
	logrus.SetOutput(io.Discard)
	cfg := &offConfig.Config{AppID: appID, AppSecret: "unused", Token: token,
		EncodingAESKey: encodingAESKey, Cache: cache.NewMemory()}
	oa := wechat.NewWechat().GetOfficialAccount(cfg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv := oa.GetServer(r, w)
		srv.SetMessageHandler(func(m *message.MixMessage) *message.Reply {
			return &message.Reply{MsgType: message.MsgTypeText, MsgData: message.NewText(m.Content)}
		})
		if err := srv.Serve(); err != nil {
			http.Error(w, "Bad Request", http.StatusBadRequest)
			return
		}
		srv.Send()
	})
}

// serveEcho runs the echo server on addr (/wechat, and /healthz for
// scripts to wait on) until ctx ends. ready, when not nil, gets the
// address it listens on.
func serveEcho(ctx context.Context, addr, token, appID, encodingAESKey string, ready func(string)) error {
	if encodingAESKey != "" && appID == "" {
		return errors.New("safe mode (-aes-key) needs -app-id")
	}
	mux := http.NewServeMux()
	mux.Handle("/wechat", echoHandler(token, appID, encodingAESKey))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"ok"}`)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready(ln.Addr().String())
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
