package chat

import "gridbot/flows"

// farDay is an "until" past every due day: all open follow-ups.
const farDay = "9999-12-31"

// msgRecheckCleared ends the ack of a one-line inspection that closed the
// place's re-check, its kind taken from it.
const msgRecheckCleared = "该处复查已销号。"

// recheckKind fills the kind of a one-line inspection that names a place
// but no kind ("巡查 幸福路12号 已整改") from the worker's open re-check of
// that place, so the report needs no question. ok is true when it did.
func (e *Engine) recheckKind(c *turn, f *flows.FlowDef, answers map[string]string) (ok bool, err error) {
	if f.FollowUp != flows.FollowRecheck {
		return false, nil
	}
	place, kind := fieldOfType(f, flows.FieldPlace), fieldOfType(f, flows.FieldKind)
	if place == nil || kind == nil || answers[place.Key] == "" || answers[kind.Key] != "" {
		return false, nil
	}
	due, err := e.Store.DueFollowUps(c.ctx, flows.Scope{Kind: flows.ScopeWorker, ID: c.w.OpenID}, farDay, 0)
	if err != nil {
		return false, err
	}
	for _, fu := range due {
		if fu.Flow == f.Key && fu.Target == answers[place.Key] && f.Kind(fu.Kind) != nil {
			answers[kind.Key] = fu.Kind
			return true, nil
		}
	}
	return false, nil
}
