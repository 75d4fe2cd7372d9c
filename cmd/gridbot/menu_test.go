package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"gridbot/bot/wxtest"
	"gridbot/flows/chat"
)

// wxMenu is the body of cgi-bin/menu/create.
type wxMenu struct {
	Button []struct {
		Type string `json:"type"`
		Name string `json:"name"`
		Key  string `json:"key"`
		Sub  []struct {
			Type string `json:"type"`
			Name string `json:"name"`
			Key  string `json:"key"`
		} `json:"sub_button"`
	} `json:"button"`
}

func TestMenuSync(t *testing.T) {
	p := wxtest.NewPlatform(t)
	p.AppID, p.AppSecret = "wx-menu-test", "menu-secret"
	var stdout, stderr bytes.Buffer
	args := []string{"sync", "-app-id", p.AppID, "-app-secret", p.AppSecret, "-api-base", p.URL}
	if err := runMenu(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("menu sync: %v\n%s", err, stderr.String())
	}
	menus := p.Menus()
	if len(menus) != 1 {
		t.Fatalf("%d menus created, want 1", len(menus))
	}
	var m wxMenu
	if err := json.Unmarshal(menus[0], &m); err != nil {
		t.Fatal(err)
	}
	// The menu WeChat received: 上报 (走访/巡查/宣传), 统计 (本月/上月/今年), 待办,
	// with the click keys the webhook routes.
	var got []string
	for _, b := range m.Button {
		if len(b.Sub) == 0 {
			got = append(got, b.Type+":"+b.Name+"="+b.Key)
			continue
		}
		for _, s := range b.Sub {
			got = append(got, b.Name+"/"+s.Type+":"+s.Name+"="+s.Key)
		}
	}
	want := []string{
		"上报/click:走访=" + chat.MenuReportVisit,
		"上报/click:巡查=" + chat.MenuReportInspection,
		"上报/click:宣传=" + chat.MenuReportCampaign,
		"统计/click:本月=" + chat.MenuStatsMonth,
		"统计/click:上月=" + chat.MenuStatsLastMonth,
		"统计/click:今年=" + chat.MenuStatsYear,
		"click:待办=" + chat.MenuTodo,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("menu\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(stdout.String(), "已创建菜单：上报(走访/巡查/宣传) 统计(本月/上月/今年) 待办") {
		t.Errorf("stdout %q", stdout.String())
	}
	// No shared token cache: a stable token, which leaves the bot's own
	// token valid.
	if p.Calls(wxtest.PathStableToken) != 1 || p.Calls(wxtest.PathToken) != 0 {
		t.Errorf("token calls: stable %d, plain %d", p.Calls(wxtest.PathStableToken), p.Calls(wxtest.PathToken))
	}
}

func TestMenuSyncErrors(t *testing.T) {
	p := wxtest.NewPlatform(t)
	p.AppID, p.AppSecret = "wx-menu-test", "menu-secret"
	tests := []struct {
		name string
		args []string
		fail func()
		want string
	}{
		{"wrong secret", []string{"sync", "-app-id", p.AppID, "-app-secret", "nope", "-api-base", p.URL}, nil, "40125"},
		{"refused menu", []string{"sync", "-app-id", p.AppID, "-app-secret", p.AppSecret, "-api-base", p.URL},
			func() { p.Fail(wxtest.PathMenuCreate, 1, 45009) }, "45009"},
		{"no credentials", []string{"sync", "-api-base", p.URL}, nil, "app_id"},
		{"unknown subcommand", []string{"delete"}, nil, "unknown subcommand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fail != nil {
				tt.fail()
			}
			var stdout, stderr bytes.Buffer
			err := runMenu(context.Background(), tt.args, &stdout, &stderr)
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error() + stderr.String(); !strings.Contains(msg, tt.want) {
				t.Errorf("got %q, want %q in it", msg, tt.want)
			}
		})
	}
	if n := len(p.Menus()); n != 0 {
		t.Errorf("%d menus created", n)
	}
}

func TestMenuShow(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := runMenu(context.Background(), []string{"show"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var m wxMenu
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil || len(m.Button) != 3 || m.Button[1].Name != "统计" || len(m.Button[1].Sub) != 3 {
		t.Errorf("show: %v %s", err, stdout.String())
	}
}
