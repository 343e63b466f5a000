package main

import (
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/handlers/reactor"
)

func smtpConfig(t *testing.T, env map[string]string) Config {
	t.Helper()
	cfg, err := loadConfig("", nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestNotifierConfigFromSettings(t *testing.T) {
	t.Parallel()
	nc, err := notifierConfig(smtpConfig(t, map[string]string{"ASSAY_SMTP_HOST": "smtp.example.test",
		"ASSAY_SMTP_USER": "u", "ASSAY_SMTP_PASSWORD": "p", "ASSAY_SMTP_FROM": "assay@example.test", "ASSAY_SMTP_ENCRYPTION": "TLS"}))
	if err != nil {
		t.Fatal(err)
	}
	want := reactor.NotifierConfig{Host: "smtp.example.test", User: "u", Password: "p", From: "assay@example.test", Encryption: "tls"}
	if nc.Host != want.Host || nc.User != want.User || nc.Password != want.Password || nc.From != want.From ||
		nc.Encryption != want.Encryption || nc.Port != 0 { // 0: the notifier picks 465 for tls
		t.Fatalf("config %+v", nc)
	}
	nc, err = notifierConfig(smtpConfig(t, map[string]string{"ASSAY_SMTP_PORT": "2525"}))
	if err != nil || nc.Port != 2525 || nc.Encryption != "starttls" {
		t.Fatalf("config %+v, %v", nc, err)
	}
	if _, err := notifierConfig(smtpConfig(t, map[string]string{"ASSAY_SMTP_PORT": "x"})); err == nil {
		t.Fatal("a bad port was taken")
	}
	_, err = startNotifier(t.Context(), nil, smtpConfig(t, map[string]string{"ASSAY_SMTP_HOST": "smtp.example.test",
		"ASSAY_SMTP_ENCRYPTION": "ssl"}), nil, logrus.New())
	if err == nil || !strings.Contains(err.Error(), "Encryption") || !strings.Contains(err.Error(), "From") {
		t.Fatalf("bad settings: %v", err)
	}
}
