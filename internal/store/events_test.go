package store

import (
	"errors"
	"strings"
	"testing"
)

func TestEventsAreBounded(t *testing.T) {
	s := New()
	for i := range EventLimit + 10 {
		if r := s.Apply(NewEventAppend(Event{At: int64(i + 1), Kind: EventNodeOnline, Node: "n1"})); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	all := s.Events(0)
	if len(all) != EventLimit || all[0].Seq != 11 || all[len(all)-1].Seq != EventLimit+10 {
		t.Fatalf("kept %d events, seq %d..%d; want %d, 11..%d", len(all), all[0].Seq, all[len(all)-1].Seq, EventLimit, EventLimit+10)
	}
	if got := s.Events(EventLimit + 8); len(got) != 2 || got[0].Seq != EventLimit+9 {
		t.Fatalf("Events(after) = %+v", got)
	}
	if got := s.LastEvents(3); len(got) != 3 || got[2].Seq != EventLimit+10 {
		t.Fatalf("LastEvents(3) = %+v", got)
	}
}

func TestEventKindMatches(t *testing.T) {
	for _, c := range []struct {
		kind   EventKind
		filter string
		want   bool
	}{
		{EventNodeLost, "node-lost", true},
		{EventNodeLost, "node", true},
		{EventNodeLost, "no", false},
		{EventNodeLost, "resource", false},
		{EventRecovered, "resource", true},
	} {
		if got := c.kind.Matches(c.filter); got != c.want {
			t.Errorf("%s.Matches(%q) = %t", c.kind, c.filter, got)
		}
	}
}

func TestAlertValidate(t *testing.T) {
	for _, c := range []struct {
		a    Alert
		want string // "" valid
	}{
		{Alert{ID: "h", Kind: AlertWebhook, URL: "https://example.org/hook"}, ""},
		{Alert{ID: "h", Kind: AlertWebhook, URL: "ftp://example.org/hook"}, `webhook URL "ftp://example.org/hook": want an http:// or https:// URL`},
		{Alert{ID: "h", Kind: AlertWebhook, URL: "http:///x"}, "no host"},
		{Alert{ID: "m", Kind: AlertEmail, To: "ops@example.org", SMTP: "127.0.0.1:25"}, ""},
		{Alert{ID: "m", Kind: AlertEmail, To: "ops@example.org", SMTP: "mailhost"}, `smtp server "mailhost": want HOST:PORT`},
		{Alert{ID: "m", Kind: AlertEmail, To: "not an address", SMTP: "h:25"}, `e-mail address "not an address"`},
		{Alert{ID: "s", Kind: AlertScript, Script: "alert.sh"}, "want an absolute path"},
		{Alert{ID: "s", Kind: AlertScript, Script: "/a.sh", Events: []string{"nod-lost"}}, `event kind "nod-lost"`},
		{Alert{ID: "s", Kind: AlertScript, Script: "/a.sh", URL: "http://x"}, "url is set but the alert is a script"},
		{Alert{ID: "s", Kind: AlertScript, Script: "/a.sh", Secrets: map[string]string{"pw": "x"}}, `secret "pw"`},
		{Alert{ID: "bad id", Kind: AlertScript, Script: "/a.sh"}, "id:"},
	} {
		err := c.a.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.a, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrInvalidAlert)):
			t.Errorf("%+v: got %v, want an ErrInvalidAlert with %q", c.a, err, c.want)
		}
	}
}
