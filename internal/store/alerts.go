package store

import (
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// ErrInvalidAlert reports an alert the store refuses (AlertPut, or
// Alert.Validate on the proposer).
var ErrInvalidAlert = errors.New("store: invalid alert")

// ErrUnknownAlert reports an alert id the store does not hold.
var ErrUnknownAlert = errors.New("store: unknown alert")

// The alert kinds: where an alert delivers events.
const (
	AlertWebhook = "webhook" // POST the event as JSON to URL
	AlertEmail   = "email"   // mail it to To through the SMTP server SMTP
	AlertScript  = "script"  // run a Pacemaker alert agent (Script)
)

// The secret names an alert may carry (Alert.Secrets).
const (
	// AlertSecretHMAC signs a webhook's body (HMAC-SHA256, in the
	// X-Paceline-Signature header).
	AlertSecretHMAC = "hmac"
	// AlertSecretPassword is the SMTP password (PLAIN auth as From).
	AlertSecretPassword = "password"
)

// Alert is one replicated alert: where to deliver which events.
type Alert struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// URL is a webhook's http(s) URL.
	URL string `json:"url,omitempty"`
	// To, SMTP (host:port), From and StartTLS configure an e-mail alert.
	To       string `json:"to,omitempty"`
	SMTP     string `json:"smtp,omitempty"`
	From     string `json:"from,omitempty"`
	StartTLS bool   `json:"starttls,omitempty"`
	// Script is a Pacemaker alert agent's absolute path (on every node
	// that may lead) and Recipient its CRM_alert_recipient.
	Script    string `json:"script,omitempty"`
	Recipient string `json:"recipient,omitempty"`
	// Events are the kinds (or first words of kinds) delivered; empty:
	// every kind.
	Events []string `json:"events,omitempty"`
	// Created is when the alert was added, in Unix ms (the proposer's
	// clock): it is not delivered events from before.
	Created int64 `json:"created_ms,omitempty"`
	// Secrets are named secret values (AlertSecretHMAC,
	// AlertSecretPassword). The API never shows them.
	Secrets map[string]string `json:"secrets,omitempty"`
}

// Wants reports whether the alert delivers events of kind k.
func (a *Alert) Wants(k EventKind) bool {
	if len(a.Events) == 0 {
		return true
	}
	return slices.ContainsFunc(a.Events, k.Matches)
}

// Validate checks an alert (every problem, joined); errors wrap
// ErrInvalidAlert and say which field is wrong.
func (a *Alert) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w %q: %s", ErrInvalidAlert, a.ID, fmt.Sprintf(format, args...)))
	}
	if err := model.CheckID(a.ID); err != nil {
		bad("id: %v", err)
	}
	set := map[string]bool{"url": a.URL != "", "email": a.To != "", "script": a.Script != ""}
	switch a.Kind {
	case AlertWebhook:
		u, err := url.Parse(a.URL)
		switch {
		case err != nil:
			bad("webhook URL %q: %v", a.URL, err)
		case u.Scheme != "http" && u.Scheme != "https":
			bad("webhook URL %q: want an http:// or https:// URL", a.URL)
		case u.Host == "":
			bad("webhook URL %q: no host", a.URL)
		}
		set["url"] = false
	case AlertEmail:
		if _, err := mail.ParseAddress(a.To); err != nil {
			bad("e-mail address %q: %v", a.To, err)
		}
		if a.From != "" {
			if _, err := mail.ParseAddress(a.From); err != nil {
				bad("from address %q: %v", a.From, err)
			}
		}
		if !hostPort(a.SMTP) {
			bad("smtp server %q: want HOST:PORT", a.SMTP)
		}
		set["email"] = false
	case AlertScript:
		if !filepath.IsAbs(a.Script) {
			bad("script %q: want an absolute path", a.Script)
		}
		set["script"] = false
	default:
		bad("kind %q: want webhook, email or script", a.Kind)
	}
	for _, f := range slices.Sorted(maps.Keys(set)) {
		if set[f] {
			bad("%s is set but the alert is a %s", f, a.Kind)
		}
	}
	if a.Kind != AlertEmail && (a.SMTP != "" || a.From != "" || a.StartTLS) {
		bad("smtp, from and starttls are for e-mail alerts")
	}
	if a.Kind != AlertScript && a.Recipient != "" {
		bad("recipient is for script alerts")
	}
	for _, e := range a.Events {
		if !ValidEventFilter(e) {
			bad("event kind %q: want one of %s", e, kindList())
		}
	}
	for name := range a.Secrets {
		if name != AlertSecretHMAC && name != AlertSecretPassword {
			bad("secret %q: want %s or %s", name, AlertSecretHMAC, AlertSecretPassword)
		}
	}
	return errors.Join(errs...)
}

// hostPort reports whether s is HOST:PORT ([V6]:PORT) with a port from 1
// to 65535 (without the net package: the store never touches the network).
func hostPort(s string) bool {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return false
	}
	host, port := s[:i], s[i+1:]
	if strings.HasPrefix(host, "[") != strings.HasSuffix(host, "]") || strings.Trim(host, "[]") == "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n < 65536
}

func kindList() string {
	var b strings.Builder
	for i, k := range EventKinds {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(k))
	}
	return b.String()
}

// AlertPut adds or replaces an alert.
type AlertPut struct {
	Alert Alert `json:"alert"`
}

// AlertRemove removes an alert.
type AlertRemove struct {
	ID string `json:"id"`
}

// NewAlertPut returns an AlertPut command.
func NewAlertPut(a Alert) Command {
	return Command{Version: Version, Type: TypeAlertPut, AlertPut: &AlertPut{Alert: a}}
}

// NewAlertRemove returns an AlertRemove command.
func NewAlertRemove(id string) Command {
	return Command{Version: Version, Type: TypeAlertRemove, AlertRemove: &AlertRemove{ID: id}}
}

func (s *Store) alertPut(c *AlertPut) (bool, error) {
	a := clone(c.Alert)
	if a.ID == "" {
		return false, fmt.Errorf("%w: alert id", ErrEmptyName)
	}
	if a.Kind != AlertWebhook && a.Kind != AlertEmail && a.Kind != AlertScript {
		return false, fmt.Errorf("%w %q: kind %q", ErrInvalidAlert, a.ID, a.Kind)
	}
	if s.alerts == nil {
		s.alerts = map[string]*Alert{}
	}
	s.alerts[a.ID] = &a
	return true, nil
}

func (s *Store) alertRemove(c *AlertRemove) (bool, error) {
	if s.alerts[c.ID] == nil {
		return false, fmt.Errorf("%w: %q", ErrUnknownAlert, c.ID)
	}
	delete(s.alerts, c.ID)
	return true, nil
}

// Alerts returns copies of the alerts, by id (with their secrets: callers
// that show them must mask them).
func (s *Store) Alerts() []Alert {
	out := make([]Alert, 0, len(s.alerts))
	for _, id := range slices.Sorted(maps.Keys(s.alerts)) {
		out = append(out, clone(*s.alerts[id]))
	}
	return out
}

// Alert returns a copy of the alert with the id.
func (s *Store) Alert(id string) (Alert, bool) {
	a := s.alerts[id]
	if a == nil {
		return Alert{}, false
	}
	return clone(*a), true
}
