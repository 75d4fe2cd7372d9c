package wxtest

import "gridbot/bot/wxclient"

// Client and Message are the production client's (package wxclient),
// named here so that tests reach both sides of WeChat through one package.
type (
	Client  = wxclient.Client
	Message = wxclient.Message
	Reply   = wxclient.Reply
)
