package alerts

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/store"
)

// smtpReceiver is a minimal SMTP server on loopback (RFC 5321's commands
// the client sends: EHLO, MAIL, RCPT, DATA, QUIT) that keeps each mail.
type smtpReceiver struct {
	ln    net.Listener
	mu    sync.Mutex
	mails []mail
}

type mail struct{ from, to, data string }

func newSMTPReceiver(t *testing.T) *smtpReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &smtpReceiver{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.serve(c)
		}
	}()
	return r
}

func (r *smtpReceiver) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	say := func(s string) { c.Write([]byte(s + "\r\n")) }
	say("220 pl-test ESMTP")
	var m mail
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-pl-test")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			m.from = strings.TrimSpace(line[len("MAIL FROM:"):])
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			m.to = strings.TrimSpace(line[len("RCPT TO:"):])
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			m.data = b.String()
			r.mu.Lock()
			r.mails = append(r.mails, m)
			r.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

func (r *smtpReceiver) got() []mail {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]mail(nil), r.mails...)
}

func TestEmailAlert(t *testing.T) {
	rcv := newSMTPReceiver(t)
	f := newFakeLeader()
	f.apply(t, store.NewAlertPut(store.Alert{ID: "mail", Kind: store.AlertEmail, To: "ops@example.org",
		From: "cluster@example.org", SMTP: rcv.ln.Addr().String(), Events: []string{"resource"}}))
	f.start(t, f.config())
	f.apply(t, store.NewEventAppend(store.Event{At: time.Now().UnixMilli(), Kind: store.EventRecovered, Resource: "web", From: "n2", To: "n1"}))
	if rec := f.waitRecord(t, "mail", 1, 3*time.Second); rec.Kind != store.EventAlertDelivered {
		t.Fatalf("record %+v", rec)
	}
	ms := rcv.got()
	if len(ms) != 1 || !strings.HasPrefix(ms[0].from, "<cluster@example.org>") || ms[0].to != "<ops@example.org>" ||
		!strings.Contains(ms[0].data, "Subject: [paceline] resource-recovered web\r\n") ||
		!strings.Contains(ms[0].data, `"from": "n2"`) {
		t.Fatalf("mails %+v", ms)
	}
}

// An unreachable SMTP server, or one without STARTTLS when it is asked
// for: one line saying so.
func TestEmailAlertFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	d, _ := New(newFakeLeader().config())
	ev := store.Event{At: time.Now().UnixMilli(), Kind: store.EventAlertTest}
	err = d.Test(context.Background(), store.Alert{ID: "m", Kind: store.AlertEmail, To: "ops@example.org", SMTP: down}, ev)
	if err == nil || !strings.Contains(err.Error(), "smtp server "+down) || !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("unreachable: %v", err)
	}
	t.Logf("unreachable SMTP server: %v", err)
	rcv := newSMTPReceiver(t)
	err = d.Test(context.Background(), store.Alert{ID: "m", Kind: store.AlertEmail, To: "ops@example.org",
		SMTP: rcv.ln.Addr().String(), StartTLS: true}, ev)
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Fatalf("starttls: %v", err)
	}
	if len(rcv.got()) != 0 {
		t.Fatal("mail sent without the STARTTLS asked for")
	}
}
