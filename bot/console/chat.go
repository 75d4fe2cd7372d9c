package console

import (
	"context"
	"strings"

	"gridbot/bot"
	"gridbot/flows"
	"gridbot/flows/chat"
)

// Chat wraps the bot's chat Handler with the scans of the console's QR
// codes, and hands everything else to next unchanged:
//
//   - the scan of a login QR code (SCAN, or subscribe with "qrscene_"
//     before the scene) logs the waiting browser in as the scanning worker;
//   - the scan of an invite QR code binds the scanner in one step, as if
//     they had typed "绑定 <code>" (the conversation's own binding).
//
// The console's chat commands are in the conversation's command table
// (Commands, set as chat.Engine.Extra).
func (c *Console) Chat(next bot.Handler) bot.Handler {
	return bot.HandlerFunc(func(ctx context.Context, in flows.Inbound) (flows.Reply, error) {
		if in.Type == "event" && (in.Event == "SCAN" || in.Event == "subscribe") {
			if scene := strings.TrimPrefix(in.EventKey, "qrscene_"); scene != "" {
				return c.scan(ctx, next, in, scene)
			}
		}
		return next.Handle(ctx, in)
	})
}

// Commands are the console's chat commands, for chat.Engine.Extra: "后台"
// answers a one-time login link; "台帐"/"导出台帐" a link to the ledger
// page (supervisors); "年度总结" the year's summary paragraph.
func (c *Console) Commands() []chat.Command {
	run := func(cmd string) func(context.Context, flows.Worker) (string, error) {
		return func(ctx context.Context, w flows.Worker) (string, error) { return c.command(ctx, w, cmd) }
	}
	return []chat.Command{
		{Name: cmdConsole, Words: []string{"后台", "管理后台", "登录后台", "网页后台", "电脑后台"},
			Help: "后台：网页后台的登录链接", Run: run(cmdConsole)},
		{Name: cmdLedger, Words: []string{"台帐", "台账", "导出台帐", "导出台账"},
			StaffHelp: "台帐 / 年度总结：下载台帐、全年工作总结", Run: run(cmdLedger)},
		{Name: cmdSummary, Words: []string{"年度总结", "全年总结", "年终总结"}, Run: run(cmdSummary)},
	}
}

// Console chat commands.
const (
	cmdConsole = "console"
	cmdLedger  = "ledger"
	cmdSummary = "summary"
)

// scan answers the scan of a parametric QR code.
func (c *Console) scan(ctx context.Context, next bot.Handler, in flows.Inbound, scene string) (flows.Reply, error) {
	switch {
	case strings.HasPrefix(scene, LoginScenePrefix):
		if in.Event == "subscribe" {
			// A new follower: let the conversation record the follow first.
			if _, err := next.Handle(ctx, flows.Inbound{MsgKey: in.MsgKey, OpenID: in.OpenID, Type: "event", Event: "subscribe", At: in.At}); err != nil {
				return flows.Reply{Text: bot.ApologyText}, err
			}
		}
		w, err := c.Store.Worker(ctx, in.OpenID)
		if codeOf(err) == flows.ENotFound {
			return flows.Reply{Text: "你还没有绑定，不能登录后台。请向社区管理员要一个邀请码，然后发送“绑定 邀请码 姓名”。"}, nil
		}
		if err != nil {
			c.log().Error("console: worker read failed", "err", err)
			return flows.Reply{Text: bot.ApologyText}, err
		}
		return flows.Reply{Text: c.scanLogin(ctx, strings.TrimPrefix(scene, LoginScenePrefix), w)}, nil
	case strings.HasPrefix(scene, InviteScenePrefix):
		code := strings.TrimPrefix(scene, InviteScenePrefix)
		// The conversation's own binding, as if typed: one set of replies
		// and rules for both ways of binding.
		bind := flows.Inbound{MsgKey: in.MsgKey, OpenID: in.OpenID, Type: "text", Text: "绑定 " + code, At: in.At}
		rep, err := next.Handle(ctx, bind)
		if err == nil && in.Event == "subscribe" && rep.Text != "" {
			rep.Text = "欢迎关注！\n" + rep.Text
		}
		c.log().Info("console: invite scanned", "openid", in.OpenID, "event", in.Event)
		return rep, err
	}
	return next.Handle(ctx, in)
}

// command answers 后台, 台帐 and 年度总结 for a bound worker. A system
// error goes back to the conversation, which logs it and apologises.
func (c *Console) command(ctx context.Context, w flows.Worker, cmd string) (string, error) {
	sup := w.Role == flows.RoleSupervisor || w.Role == flows.RoleAdmin
	link := func(path string) (string, error) {
		l, err := c.newLink(ctx, w.OpenID, path)
		if err != nil {
			return "", err
		}
		return c.publicBase() + l, nil
	}
	switch cmd {
	case cmdConsole:
		u, err := link(Prefix)
		if err != nil {
			return "", err
		}
		return "后台登录链接（10 分钟内有效，只能用一次）：\n" + u + "\n在电脑上也可以打开后台，用微信扫登录页的二维码。", nil
	case cmdLedger:
		if !sup {
			return "台帐仅供社区负责人导出。发送“本月统计”查看你自己的数字。", nil
		}
		u, err := link("/console/ledger")
		if err != nil {
			return "", err
		}
		return "打开这个链接下载台帐（Excel 或 CSV，10 分钟内有效，只能用一次）：\n" + u, nil
	default: // cmdSummary
		scope := flows.Scope{Kind: flows.ScopeWorker, ID: w.OpenID}
		switch w.Role {
		case flows.RoleSupervisor:
			scope = flows.Scope{Kind: flows.ScopeCommunity, ID: w.Community}
		case flows.RoleAdmin:
			scope = flows.Scope{Kind: flows.ScopeAll}
		}
		now := c.now()
		s, err := chat.BuildSummary(ctx, c.Store, c.cat(), scope, now.In(c.zone()).Year(), now, c.zone())
		if err != nil {
			return "", err
		}
		text := "📄 " + cutRunes(s.Paragraph, 500)
		if sup {
			u, err := link("/console/ledger")
			if err == nil {
				text += "\n\n按网格、按月的数字和台帐：" + u
			}
		}
		return text, nil
	}
}

// cutRunes keeps a reply within WeChat's passive reply size.
func cutRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
