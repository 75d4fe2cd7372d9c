// Package pgtest gives tests a PostgreSQL database of their own.
//
// The server comes from GRIDBOT_TEST_POSTGRES, a DSN of a database the
// tests may connect to in order to create others (e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). Without it
// tests that need PostgreSQL skip, except under CI=true, where they fail:
// CI must never pass by skipping them.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the base DSN of the test server.
const EnvVar = "GRIDBOT_TEST_POSTGRES"

// BaseDSN returns the test server's DSN, skipping t when there is none
// (failing it under CI=true).
func BaseDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvVar)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests (see .ci/run)", EnvVar)
		}
		t.Skipf("%s is not set: skipping the PostgreSQL tests", EnvVar)
	}
	return dsn
}

// NewDatabase creates an empty database gridbot_test_<random> on the test
// server, drops it when t ends, and returns its DSN.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := BaseDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("%s: %v", EnvVar, err)
	}
	defer conn.Close(context.Background())
	b := make([]byte, 6)
	rand.Read(b)
	name := "gridbot_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvVar, err)
	}
	u.Path = "/" + name
	return u.String()
}
