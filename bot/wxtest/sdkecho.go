package wxtest

import (
	"io"
	"net/http"

	"github.com/silenceper/wechat/v2"
	"github.com/silenceper/wechat/v2/cache"
	offConfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/sirupsen/logrus"
)

// SDKEcho is the silenceper/wechat SDK's own server answering every message
// with reply: the "bare SDK echo" baseline the benchmarks compare the
// webhook against. An empty encodingAESKey means plain mode. It silences
// the SDK's logrus output (process-wide), which logs every message.
func SDKEcho(token, appID, encodingAESKey, reply string) http.Handler {
	logrus.SetLevel(logrus.ErrorLevel)
	logrus.SetOutput(io.Discard)
	cfg := &offConfig.Config{AppID: appID, AppSecret: "unused", Token: token,
		EncodingAESKey: encodingAESKey, Cache: cache.NewMemory()}
	oa := wechat.NewWechat().GetOfficialAccount(cfg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv := oa.GetServer(r, w)
		srv.SetMessageHandler(func(*message.MixMessage) *message.Reply {
			return &message.Reply{MsgType: message.MsgTypeText, MsgData: message.NewText(reply)}
		})
		if err := srv.Serve(); err != nil {
			http.Error(w, "Bad Request", http.StatusBadRequest)
			return
		}
		srv.Send()
	})
}
