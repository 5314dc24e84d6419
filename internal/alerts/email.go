package alerts

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/events"
	"github.com/paceline/paceline/internal/store"
)

// email mails e to a.To through a.SMTP: STARTTLS when asked (an error
// when the server does not offer it), PLAIN authentication as From with a
// password secret. The whole exchange is bounded by the context's
// deadline.
func (d *Deliverer) email(ctx context.Context, a store.Alert, e store.Event) error {
	from := a.From
	if from == "" {
		h, _ := os.Hostname()
		from = "paceline@" + h
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", a.SMTP)
	if err != nil {
		return fmt.Errorf("smtp server %s: %w", a.SMTP, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	host, _, _ := net.SplitHostPort(a.SMTP)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp server %s: %w", a.SMTP, err)
	}
	defer c.Close()
	if a.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("smtp server %s does not offer STARTTLS (--starttls)", a.SMTP)
		}
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, RootCAs: d.cfg.SMTPRootCAs}); err != nil {
			return fmt.Errorf("smtp server %s: starttls: %w", a.SMTP, err)
		}
	}
	if pw := a.Secrets[store.AlertSecretPassword]; pw != "" {
		if err := c.Auth(smtp.PlainAuth("", from, pw, host)); err != nil {
			return fmt.Errorf("smtp server %s: auth: %w", a.SMTP, err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("smtp server %s: MAIL FROM %s: %w", a.SMTP, from, err)
	}
	if err := c.Rcpt(a.To); err != nil {
		return fmt.Errorf("smtp server %s: RCPT TO %s: %w", a.SMTP, a.To, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp server %s: DATA: %w", a.SMTP, err)
	}
	if _, err := w.Write(message(from, a.To, e)); err != nil {
		return fmt.Errorf("smtp server %s: %w", a.SMTP, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp server %s: %w", a.SMTP, err)
	}
	return c.Quit()
}

// message is the mail of one event: a subject that says what happened,
// a body with the same and the event as JSON.
func message(from, to string, e store.Event) []byte {
	pa, _ := pacemakerAlert(e)
	subject := fmt.Sprintf("[paceline] %s", e.Kind)
	for _, s := range []string{e.Resource, e.Node} {
		if s != "" {
			subject += " " + s
		}
	}
	j, _ := json.MarshalIndent(events.Wire(e), "", "  ")
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n", from, to, subject, time.Now().Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	fmt.Fprintf(&b, "%s at %s\r\n%s\r\n\r\n", e.Kind, time.UnixMilli(e.At).UTC().Format("2006-01-02 15:04:05.000 MST"), pa.desc)
	b.WriteString(strings.ReplaceAll(string(j), "\n", "\r\n"))
	b.WriteString("\r\n")
	return []byte(b.String())
}
