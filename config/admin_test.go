package config

import (
	"strings"
	"testing"
)

func TestParseAdminTokenFile(t *testing.T) {
	c, err := Parse("a.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Admin.Address != "127.0.0.1:9901" || c.Admin.TokenFile != "" {
		t.Errorf("admin %+v", c.Admin)
	}
	withToken := strings.Replace(good, `admin: {address: "127.0.0.1:9901"}`, `admin: {address: ":9901", token_file: /run/secrets/om-admin}`, 1)
	c, err = Parse("a.yaml", []byte(withToken))
	if err != nil {
		t.Fatal(err)
	}
	if c.Admin.Address != ":9901" || c.Admin.TokenFile != "/run/secrets/om-admin" {
		t.Errorf("admin %+v", c.Admin)
	}
	_, err = Parse("a.yaml", []byte(strings.Replace(good, `admin: {address: "127.0.0.1:9901"}`, `admin: {token: x}`, 1)))
	if err == nil || !strings.Contains(err.Error(), "admin.token: unknown field (known: address, token_file)") {
		t.Errorf("a token in the config itself: %v", err)
	}
}
