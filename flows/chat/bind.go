package chat

import (
	"context"
	"regexp"
	"strings"
	"unicode"

	"gridbot/flows"
)

// bindRe is "绑定 <code>" or "绑定 <code> <姓名>".
var bindRe = regexp.MustCompile(`^绑定[\s:：]*([0-9A-Za-z_-]*)(?:[\s,，、]*(\S.*))?$`)

// isBind reports whether t is a binding (bindRe); every text is asked,
// so the word it starts with is looked at first.
func isBind(t string) bool { return strings.HasPrefix(t, "绑定") && bindRe.MatchString(t) }

// unbound answers a user who is not bound: only 绑定 <code> works.
func (e *Engine) unbound(ctx context.Context, in flows.Inbound) (flows.Reply, error) {
	if in.Type == "text" || in.Type == "voice" {
		if m := bindRe.FindStringSubmatch(normalize(in.Text)); m != nil {
			text, err := e.bind(ctx, in.OpenID, m[1], m[2])
			if err != nil {
				return e.fail(in.OpenID, "redeem invite", err)
			}
			return flows.Reply{Text: text}, nil
		}
	}
	return flows.Reply{Text: msgHowToBind}, nil
}

// bind redeems an invite code, with the worker's name when given
// ("绑定 A1B2C3 王芳"). A bound worker may redeem a new code (moved to
// another grid); without a name the stored one is kept. Names are
// personal data: never logged.
func (e *Engine) bind(ctx context.Context, openID, code, name string) (string, error) {
	if code == "" {
		return "请在\"绑定\"后面写上邀请码，如：绑定 A1B2C3 王芳。", nil
	}
	if name != "" {
		var msg string
		if name, msg = checkName(name); msg != "" {
			return msg + "如：绑定 " + code + " 王芳。", nil
		}
	}
	w, err := e.Store.RedeemInvite(ctx, code, openID, name, e.now())
	if up := strings.ToUpper(code); flows.ErrorCode(err) == flows.ENotFound && up != code {
		// Codes are issued in capitals; phones often type lower case.
		w, err = e.Store.RedeemInvite(ctx, up, openID, name, e.now())
	}
	switch flows.ErrorCode(err) {
	case "":
	case flows.ENotFound:
		return "邀请码 " + code + " 不存在，请核对后重新发送\"绑定 邀请码\"。", nil
	case flows.EExpired:
		return "邀请码 " + code + " 已过期，请联系社区管理员重新生成。", nil
	case flows.EConflict:
		return "邀请码 " + code + " 已被使用，请联系社区管理员重新生成。", nil
	case flows.EInvalid:
		return "邀请码不对，请核对后重新发送\"绑定 邀请码\"。", nil
	default:
		return "", err
	}
	reply := "✅ 绑定成功：" + w.Community + "，网格 " + w.Grid + "（" + roleName(w.Role) + "）。\n" +
		"现在可以发送\"走访\"、\"巡查\"或\"宣传\"开始记录，发送\"帮助\"查看更多用法。"
	if w.Name == "" {
		reply += "\n可发送\"我叫 王芳\"登记姓名。"
	}
	return reply, nil
}

// nameRe is "我叫 王芳" or "姓名 王芳": the worker gives their name.
var nameRe = regexp.MustCompile(`^(?:我叫|我的名字是|我的姓名是|姓名)[\s:：是为]*(.*)$`)

// isName reports whether t gives the worker's name (nameRe), looking at
// how it starts first.
func isName(t string) bool {
	return (strings.HasPrefix(t, "我") || strings.HasPrefix(t, "姓名")) && nameRe.MatchString(t)
}

// maxNameRunes is the longest name accepted.
const maxNameRunes = 20

// checkName trims a worker's name and checks it: letters (Chinese ones
// too), spaces between Latin names, and ·; msg says what is wrong.
func checkName(name string) (string, string) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", "请写上姓名，"
	}
	if runeLen(name) > maxNameRunes {
		return "", "姓名太长了，"
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && r != '·' && r != '•' && r != ' ' {
			return "", "姓名只能是文字，"
		}
	}
	return name, ""
}

// setName stores the name a worker gave (我叫 王芳).
func (e *Engine) setName(c *turn, name string) (string, error) {
	name, msg := checkName(name)
	if msg != "" {
		return msg + "如：我叫 王芳。", nil
	}
	w := c.w
	w.Name = name
	if err := e.Store.PutWorker(c.ctx, w); err != nil {
		return "", err
	}
	c.w = w
	return "✅ 已登记姓名：" + name + "。", nil
}

func roleName(r flows.Role) string {
	switch r {
	case flows.RoleSupervisor:
		return "负责人"
	case flows.RoleAdmin:
		return "管理员"
	}
	return "网格员"
}
