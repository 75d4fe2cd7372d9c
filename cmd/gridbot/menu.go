package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/silenceper/wechat/v2/officialaccount/menu"

	"gridbot/bot"
	"gridbot/flows/chat"
	"gridbot/storage"
)

const menuHelp = `gridbot menu — 公众号自定义菜单 (the Official Account's custom menu)

Usage:
  gridbot menu sync [-config FILE] [-app-id ID] [-app-secret S] [-api-base URL]
  gridbot menu show

"sync" creates the default menu on WeChat (cgi-bin/menu/create):
  上报 (走访 / 巡查 / 宣传)   统计 (本月 / 上月 / 今年)   待办
Its click keys are routed by the webhook. WeChat shows a new menu to
followers within a few minutes (at once after they re-follow).
"show" prints the menu's JSON without calling WeChat.

The credentials come from the config ([wechat] app_id, app_secret, api_base,
or GRIDBOT_WECHAT_*); the flags override them. The access token is shared
with the running bot through Redis when [redis] addr is set; otherwise a
stable_token is fetched, which does not invalidate the bot's token.
`

// runMenu manages the Official Account's custom menu.
func runMenu(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-help" || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, menuHelp)
		if len(args) == 0 {
			return errExit1
		}
		return flag.ErrHelp
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("menu "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, menuHelp) }
	configPath := fs.String("config", "", "TOML config file (default: defaults and GRIDBOT_* environment)")
	appID := fs.String("app-id", "", "Official Account AppID (overrides wechat.app_id)")
	appSecret := fs.String("app-secret", "", "AppSecret (overrides wechat.app_secret)")
	apiBase := fs.String("api-base", "", "WeChat API base URL (overrides wechat.api_base)")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gridbot menu %s: unexpected argument %q\n\n%s", sub, fs.Arg(0), menuHelp)
		return errExit1
	}
	buttons := menuButtons(chat.DefaultMenu())
	switch sub {
	case "show":
		b, err := json.MarshalIndent(map[string]any{"button": buttons}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	case "sync":
	default:
		fmt.Fprintf(stderr, "gridbot menu: unknown subcommand %q\n\n%s", sub, menuHelp)
		return errExit1
	}

	cfg, err := ReadConfigFile(*configPath, os.Environ())
	if err != nil {
		return err
	}
	if *appID != "" {
		cfg.WeChat.AppID = *appID
	}
	if *appSecret != "" {
		cfg.WeChat.AppSecret = *appSecret
	}
	if *apiBase != "" {
		cfg.WeChat.APIBase = *apiBase
	}
	if cfg.WeChat.AppID == "" || cfg.WeChat.AppSecret == "" {
		return errors.New("menu sync needs the Official Account's credentials: set wechat.app_id and wechat.app_secret (or -app-id, -app-secret)")
	}
	tokenCache := bot.NewTokenCache(storage.NewMemKV())
	stable := true
	if cfg.Redis.Addr != "" {
		rdb := newRedis(&cfg, nil)
		defer rdb.Close()
		if err := pingRedis(ctx, &cfg, rdb); err != nil {
			return err
		}
		tokenCache, stable = bot.NewTokenCache(storage.NewRedisKV(rdb)), false
	}
	out, err := bot.NewOutbound(bot.OutboundConfig{
		AppID: cfg.WeChat.AppID, AppSecret: cfg.WeChat.AppSecret,
		Token: cfg.WeChat.Token, EncodingAESKey: cfg.WeChat.EncodingAESKey,
		APIBase: cfg.WeChat.APIBase, StableToken: stable, Cache: tokenCache,
	})
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := out.OfficialAccount().GetMenu().SetMenu(buttons); err != nil {
		if code, ok := bot.ErrCode(err); ok {
			return fmt.Errorf("menu sync: WeChat refused the menu (errcode %d): %w", code, err)
		}
		return fmt.Errorf("menu sync: %w", err)
	}
	fmt.Fprintf(stdout, "已创建菜单：%s\n", menuSummary(chat.DefaultMenu()))
	return nil
}

// menuButtons converts the flows menu to the SDK's buttons.
func menuButtons(ms []chat.MenuButton) []*menu.Button {
	out := make([]*menu.Button, 0, len(ms))
	for _, m := range ms {
		b := &menu.Button{}
		if len(m.Sub) > 0 {
			b.SetSubButton(m.Name, menuButtons(m.Sub))
		} else {
			b.SetClickButton(m.Name, m.Key)
		}
		out = append(out, b)
	}
	return out
}

// menuSummary is "上报(走访/巡查/宣传) 统计(本月/上月/今年) 待办".
func menuSummary(ms []chat.MenuButton) string {
	s := ""
	for i, m := range ms {
		if i > 0 {
			s += " "
		}
		s += m.Name
		if len(m.Sub) > 0 {
			s += "("
			for j, c := range m.Sub {
				if j > 0 {
					s += "/"
				}
				s += c.Name
			}
			s += ")"
		}
	}
	return s
}
