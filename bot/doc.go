// Package bot is gridbot's network edge: the WeChat Official Account
// webhook (Webhook), outbound customer-service and template messages
// (Outbound, or Outbox in local mode), the admin HTTP API (API), the health
// check and the Server that puts them on one mux.
//
// It turns WeChat requests into flows.Inbound values and flows.Reply values
// back into XML, and talks to storage only through the flows interfaces
// (flows.Store, flows.KV) and small function values (health checks), so it
// does not import package storage or cmd. Package bot/wxtest holds a fake
// WeChat platform and a client that signs and encrypts inbound messages.
package bot
