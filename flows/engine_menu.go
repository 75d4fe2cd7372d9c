package flows

import "strings"

// Menu click keys (EventKey of CLICK events) of the default menu. A click on
// "REPORT_<FLOW>" starts that flow's form, for configured flows too.
const (
	MenuReportVisit      = "REPORT_VISIT"      // 上报 › 走访
	MenuReportInspection = "REPORT_INSPECTION" // 上报 › 巡查
	MenuReportCampaign   = "REPORT_CAMPAIGN"   // 上报 › 宣传
	MenuStatsMonth       = "STATS_MONTH"       // 统计 › 本月 (answered as "本月统计")
	MenuStatsLastMonth   = "STATS_LAST_MONTH"  // 统计 › 上月 (answered as "上月统计")
	MenuStatsYear        = "STATS_YEAR"        // 统计 › 今年 (answered as "今年统计")
	MenuTodo             = "TODO"              // 待办 (answered as "待办")
)

const menuReportPrefix = "REPORT_"

// MenuButton is one button of the Official Account's custom menu, in the
// JSON shape of WeChat's menu/create API: marshal {"button": DefaultMenu()}.
type MenuButton struct {
	Type string       `json:"type,omitempty"` // "click" for a leaf, "" for a group
	Name string       `json:"name"`
	Key  string       `json:"key,omitempty"`
	Sub  []MenuButton `json:"sub_button,omitempty"`
}

// DefaultMenu is the menu `gridbot menu sync` creates:
// [上报: 走访/巡查/宣传] [统计: 本月/上月/今年] [待办].
func DefaultMenu() []MenuButton {
	click := func(name, key string) MenuButton { return MenuButton{Type: "click", Name: name, Key: key} }
	return []MenuButton{
		{Name: "上报", Sub: []MenuButton{
			click("走访", MenuReportVisit),
			click("巡查", MenuReportInspection),
			click("宣传", MenuReportCampaign),
		}},
		{Name: "统计", Sub: []MenuButton{
			click("本月", MenuStatsMonth),
			click("上月", MenuStatsLastMonth),
			click("今年", MenuStatsYear),
		}},
		click("待办", MenuTodo),
	}
}

// menuText is the short list of what w can send (帮助/菜单/?);
// supervisors and admins also get their community's commands.
func (e *Engine) menuText(w Worker) string {
	var names []string
	for _, f := range e.catalog().Flows {
		names = append(names, "\""+f.Short+"\"")
	}
	s := "可以这样用：\n" +
		"· 发" + strings.Join(names, "、") + "，按提示一步步填\n" +
		"· 一句话记录，如：走访 3-2-201 慢病 150/95\n" +
		"· 本月统计 / 上月统计 / 今年统计 / 本周统计 / 今天统计\n" +
		"· 待办：该随访的住户\n" +
		"· 撤销：作废上一条记录（留底备查，不再计入统计）\n"
	if w.Role == RoleSupervisor || w.Role == RoleAdmin {
		s += "· 社区统计 / 网格排名 / 逾期：全社区的数字和逾期随访\n"
	}
	return s + "填写时可回复：取消、返回、跳过、帮助"
}
