package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// In local mode with no api.token, serve generates one on first run and
// keeps it beside the store, readable by its owner only; the commands that
// call the admin API (export, summary, check, backup, import) and chat
// read it from there, so a first `gridbot serve` gives a working API.

// tokenPath is where the generated admin API token is kept.
func tokenPath(cfg *Config) string { return cfg.Storage.Path + ".api-token" }

// readTokenFile returns the token kept beside the store, or "".
func readTokenFile(cfg *Config) string {
	b, err := os.ReadFile(tokenPath(cfg))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// localToken returns the kept token, generating and keeping one (mode
// 0600) on first run; created reports whether it did.
func localToken(cfg *Config) (token string, created bool, err error) {
	if t := readTokenFile(cfg); t != "" {
		return t, false, nil
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", false, err
	}
	token = hex.EncodeToString(b)
	f, err := os.OpenFile(tokenPath(cfg), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process wrote it meanwhile, or it is empty: read again.
		if t := readTokenFile(cfg); t != "" {
			return t, false, nil
		}
		return "", false, fmt.Errorf("api token file %s is empty: delete it to get a new token", tokenPath(cfg))
	}
	if err != nil {
		return "", false, fmt.Errorf("keep the admin API token in %s: %w", tokenPath(cfg), err)
	}
	_, err = f.WriteString(token + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tokenPath(cfg))
		return "", false, fmt.Errorf("keep the admin API token in %s: %w", tokenPath(cfg), err)
	}
	return token, true, nil
}
