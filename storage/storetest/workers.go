package storetest

import (
	"context"
	"testing"
	"time"

	"gridbot/flows"
)

func testWorkers(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	_, err := db.Worker(ctx, "w1")
	wantCode(t, err, flows.ENotFound)
	for _, w := range []flows.Worker{
		{OpenID: "w2", Name: "王芳", Community: "c1", Grid: "g1", Role: flows.RoleSupervisor, BoundAt: testTime},
		{OpenID: "w1", Name: "李娟", Community: "c1", Grid: "g2", Role: flows.RoleWorker, BoundAt: testTime},
	} {
		if err := db.PutWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	// Replacing keeps one record.
	if err := db.PutWorker(ctx, flows.Worker{OpenID: "w1", Name: "李娟", Community: "c1", Grid: "g2",
		Role: flows.RoleWorker, Unsubscribed: true, BoundAt: testTime}); err != nil {
		t.Fatal(err)
	}
	ws, err := db.Workers(ctx)
	if err != nil || len(ws) != 2 || ws[0].OpenID != "w1" || !ws[0].Unsubscribed || ws[1].Role != flows.RoleSupervisor {
		t.Fatalf("workers: %+v, %v", ws, err)
	}
	wantCode(t, db.PutWorker(ctx, flows.Worker{OpenID: "w3", Role: "boss"}), flows.EInvalid)
	wantCode(t, db.PutWorker(ctx, flows.Worker{Role: flows.RoleWorker}), flows.EInvalid)
}

func testRedeemInvite(t *testing.T, d Driver) {
	ctx := context.Background()
	db := d.Open(t)
	now := testTime
	invites := []flows.Invite{
		{Code: "OK1", Community: "c1", Grid: "g1", Role: flows.RoleWorker, ExpiresAt: now.Add(time.Hour)},
		{Code: "OK2", Community: "c2", Grid: "g5", Role: flows.RoleSupervisor, ExpiresAt: now.Add(time.Hour)},
		{Code: "OLD", Community: "c1", Grid: "g1", Role: flows.RoleWorker, ExpiresAt: now},
		{Code: "FOREVER", Community: "c3", Grid: "g1", Role: flows.RoleAdmin},
	}
	for _, inv := range invites {
		if err := db.CreateInvite(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, db.CreateInvite(ctx, invites[0]), flows.EConflict)
	wantCode(t, db.CreateInvite(ctx, flows.Invite{Code: "X", Community: "c1", Grid: "g1", Role: "boss"}), flows.EInvalid)
	wantCode(t, db.CreateInvite(ctx, flows.Invite{Code: "X", Role: flows.RoleWorker}), flows.EInvalid)

	tests := []struct {
		name, code, openID, userName string
		want                         flows.Worker // zero when an error is expected
		code2                        string       // expected error code
	}{
		{"unknown code", "NOPE", "u1", "张三", flows.Worker{}, flows.ENotFound},
		{"expired at the instant", "OLD", "u1", "张三", flows.Worker{}, flows.EExpired},
		{"binds", "OK1", "u1", "张三", flows.Worker{OpenID: "u1", Name: "张三", Community: "c1", Grid: "g1", Role: flows.RoleWorker, BoundAt: now}, ""},
		{"used by the same user", "OK1", "u1", "张三", flows.Worker{}, flows.EConflict},
		{"used by another", "OK1", "u2", "李四", flows.Worker{}, flows.EConflict},
		{"rebinds, keeping the name", "OK2", "u1", "", flows.Worker{OpenID: "u1", Name: "张三", Community: "c2", Grid: "g5", Role: flows.RoleSupervisor, BoundAt: now}, ""},
		{"no expiry", "FOREVER", "u3", "王五", flows.Worker{OpenID: "u3", Name: "王五", Community: "c3", Grid: "g1", Role: flows.RoleAdmin, BoundAt: now}, ""},
		{"empty openid", "FOREVER", "", "", flows.Worker{}, flows.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := db.RedeemInvite(ctx, tt.code, tt.openID, tt.userName, now)
			if tt.code2 != "" {
				wantCode(t, err, tt.code2)
				return
			}
			if err != nil || w != tt.want {
				t.Fatalf("got %+v, %v; want %+v", w, err, tt.want)
			}
			stored, err := db.Worker(ctx, tt.openID)
			if err != nil || stored.Community != tt.want.Community || stored.Role != tt.want.Role || stored.Name != tt.want.Name {
				t.Fatalf("stored %+v, %v", stored, err)
			}
			inv, err := db.Invite(ctx, tt.code)
			if err != nil || inv.UsedBy != tt.openID || !inv.UsedAt.Equal(now) {
				t.Fatalf("invite after redeem: %+v, %v", inv, err)
			}
		})
	}
	// A failed redeem wrote nothing.
	_, err := db.Worker(ctx, "u2")
	wantCode(t, err, flows.ENotFound)
	if inv, _ := db.Invite(ctx, "OLD"); inv.UsedBy != "" {
		t.Fatalf("expired invite marked used: %+v", inv)
	}
}
