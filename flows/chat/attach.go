package chat

import (
	"slices"
	"time"

	"gridbot/flows"
)

// attach adds a location or photo to an open form of a flow that takes
// them, else to the report of such a flow just saved (see attachToLast),
// or says where they belong.
func (e *Engine) attach(c *turn, in flows.Inbound) (string, error) {
	f := c.flow()
	if c.s.Step == stepUndo {
		return msgAttach, nil
	}
	if f == nil {
		return e.attachToLast(c, in)
	}
	if !f.Attachments {
		return e.withStep(c, "位置和照片只能附在巡查记录里。"), nil
	}
	var note string
	if in.Type == "location" {
		if in.Location == nil {
			return e.withStep(c, "没收到位置，请重新发送。"), nil
		}
		loc := *in.Location
		c.s.Location = &loc
		note = "📍 已附上位置。"
	} else {
		img := in.PicURL
		if img == "" {
			img = in.MediaID
		}
		if len(c.s.Images) >= maxImages {
			return e.withStep(c, "照片最多附 9 张。"), nil
		}
		c.s.Images = append(c.s.Images, img)
		note = "📷 已附上照片（共 " + itoa(len(c.s.Images)) + " 张）。"
	}
	return e.withStep(c, note), nil
}

const maxImages = 9

// attachWindow is how long after saving a report of a flow that takes
// attachments (a one-line inspection) a location or photo sent with no
// form open is still added to it.
const attachWindow = 30 * time.Minute

// attachToLast adds a location or photo sent with no form open to the
// worker's newest report that is not void when it was created within
// attachWindow and its flow takes attachments; otherwise it says where
// they belong. The same photo delivered again is stored once.
func (e *Engine) attachToLast(c *turn, in flows.Inbound) (string, error) {
	r, err := e.Store.LastReport(c.ctx, c.w.OpenID, e.now().Add(-attachWindow))
	switch flows.ErrorCode(err) {
	case "":
	case flows.ENotFound:
		return msgAttach, nil
	default:
		return "", err
	}
	f := e.catalog().Flow(r.Flow)
	if f == nil || !f.Attachments {
		return msgAttach, nil
	}
	var (
		loc  *flows.Location
		img  string
		what string
	)
	if in.Type == "location" {
		if in.Location == nil {
			return "没收到位置，请重新发送。", nil
		}
		loc, what = in.Location, "📍 位置"
	} else {
		if img = in.PicURL; img == "" {
			img = in.MediaID
		}
		if img == "" {
			return "没收到照片，请重新发送。", nil
		}
		if len(r.Images) >= maxImages && !slices.Contains(r.Images, img) {
			return "照片最多附 9 张。", nil
		}
		what = "📷 照片"
	}
	r, err = e.Store.AttachToReport(c.ctx, r.ID, loc, img)
	switch flows.ErrorCode(err) {
	case "":
	case flows.ENotFound, flows.EConflict: // voided (or gone) meanwhile
		return msgAttach, nil
	default:
		return "", err
	}
	place := ""
	if r.Target != "" {
		place = "（" + r.Target + "）"
	}
	return what + "已附到刚才的" + f.Name + "记录" + place + "。", nil
}
