// Package bot is gridbot's network edge: the WeChat Official Account
// webhook (Webhook: verification, per-user rate limit, exactly-once
// handling, late answers), outbound customer-service and template messages
// (Outbound, or Outbox in local mode) and the SDK's token cache
// (TokenCache), the admin HTTP API (API, with pprof), the health check,
// Prometheus metrics (Metrics) and the Server that puts them on one mux.
//
// It turns WeChat requests into flows.Inbound values and flows.Reply values
// back into XML, and talks to storage only through the flows interfaces
// (flows.Store, flows.KV) and small function values (health checks), so it
// does not import package storage or cmd. Package bot/wxclient signs and
// encrypts inbound messages as WeChat does (`gridbot chat` uses it);
// bot/wxtest, for tests only, adds a fake WeChat API platform.
package bot
