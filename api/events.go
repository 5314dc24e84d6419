package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ClusterEvent is one recorded cluster event (GET /v1/events/history, and
// "event" entries of the GET /v1/events stream). Which fields are set
// depends on Kind: node-joined, node-left, node-online, node-offline,
// node-lost, node-fenced, node-back, quorum-lost, quorum-regained,
// leader-changed, resource-started, resource-stopped, resource-failed,
// resource-recovered, resource-moved, resource-promoted,
// resource-demoted, resource-migrated, vip-moved, config-changed,
// alert-delivered, alert-failed (and alert-test, only ever delivered by
// "paceline alert test").
type ClusterEvent struct {
	// Seq numbers the kept events (0 for a test event).
	Seq uint64 `json:"seq"`
	// Time is when it happened (UTC); TimeMs the same in Unix ms.
	Time   time.Time `json:"time"`
	TimeMs int64     `json:"time_ms"`
	Kind   string    `json:"kind"`
	// Node is the node it happened on or to.
	Node     string `json:"node,omitempty"`
	Resource string `json:"resource,omitempty"`
	// From and To are the nodes (or leaders) of a recovery, move,
	// migration, VIP move or leader change.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Address is a virtual IP's address.
	Address string `json:"address,omitempty"`
	// Operation, IntervalMs and RC are a failed operation's; Reason its
	// exit reason (or an alert's failure).
	Operation  string `json:"operation,omitempty"`
	IntervalMs int64  `json:"interval_ms,omitempty"`
	RC         int    `json:"rc,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Detail     string `json:"detail,omitempty"`
	// Epoch and Who are a configuration change's epoch and author.
	Epoch uint64 `json:"epoch,omitempty"`
	Who   string `json:"who,omitempty"`
	// Alert is the alert of alert-delivered and alert-failed, Ref the
	// seq of the event it delivered.
	Alert string `json:"alert,omitempty"`
	Ref   uint64 `json:"ref,omitempty"`
}

// EventLog is GET /v1/events/history.
type EventLog struct {
	Events []ClusterEvent `json:"events"`
}

// Events returns the kept events of the last since (0: all) with Seq above
// after, oldest first.
func (c *Client) Events(ctx context.Context, since time.Duration, after uint64) ([]ClusterEvent, error) {
	q := url.Values{}
	if since > 0 {
		q.Set("since", since.String())
	}
	if after > 0 {
		q.Set("after", strconv.FormatUint(after, 10))
	}
	path := "/v1/events/history"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var l EventLog
	if err := c.call(ctx, http.MethodGet, path, nil, &l); err != nil {
		return nil, err
	}
	return l.Events, nil
}

// WatchEvents calls fn with every event recorded after the event with Seq
// after (GET /v1/events?events_after=N&status=false) until ctx is done,
// the stream ends, or fn returns an error (which it returns).
func (c *Client) WatchEvents(ctx context.Context, after uint64, fn func(ClusterEvent) error) error {
	path := "/v1/events?status=false&events_after=" + strconv.FormatUint(after, 10)
	return c.stream(ctx, path, func(typ string, data []byte) error {
		if typ != "event" {
			return nil
		}
		var ev ClusterEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			return fmt.Errorf("api: events: %w", err)
		}
		return fn(ev)
	})
}

// Alert is one alert in GET /v1/alerts and POST /v1/alerts. Secrets are
// sent on POST only; GET names them (SecretNames) without their values.
type Alert struct {
	ID string `json:"id"`
	// Kind is webhook, email or script.
	Kind      string   `json:"kind"`
	URL       string   `json:"url,omitempty"`
	To        string   `json:"to,omitempty"`
	SMTP      string   `json:"smtp,omitempty"`
	From      string   `json:"from,omitempty"`
	StartTLS  bool     `json:"starttls,omitempty"`
	Script    string   `json:"script,omitempty"`
	Recipient string   `json:"recipient,omitempty"`
	Events    []string `json:"events,omitempty"`
	// Secrets (POST only) are named secret values: hmac (a webhook's
	// signing key), password (SMTP).
	Secrets     map[string]string `json:"secrets,omitempty"`
	SecretNames []string          `json:"secret_names,omitempty"`
}

// AlertList is GET /v1/alerts.
type AlertList struct {
	Alerts []Alert `json:"alerts"`
}

// AlertTestResult is POST /v1/alerts/{id}/test: the test event and how
// long its delivery took.
type AlertTestResult struct {
	Event ClusterEvent `json:"event"`
	Took  string       `json:"took"`
}

// Alerts lists the alerts.
func (c *Client) Alerts(ctx context.Context) ([]Alert, error) {
	var l AlertList
	if err := c.call(ctx, http.MethodGet, "/v1/alerts", nil, &l); err != nil {
		return nil, err
	}
	return l.Alerts, nil
}

// PutAlert adds or replaces an alert.
func (c *Client) PutAlert(ctx context.Context, a Alert) error {
	return c.call(ctx, http.MethodPost, "/v1/alerts", a, nil)
}

// RemoveAlert removes an alert.
func (c *Client) RemoveAlert(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, "/v1/alerts/"+url.PathEscape(id), nil, nil)
}

// TestAlert delivers a test event to an alert, from the answering node, and
// returns once it was delivered or failed (the error says why).
func (c *Client) TestAlert(ctx context.Context, id string) (*AlertTestResult, error) {
	var r AlertTestResult
	return &r, c.call(ctx, http.MethodPost, "/v1/alerts/"+url.PathEscape(id)+"/test", nil, &r)
}

// Describe says what the event means in a few words ("web recovered:
// n1 -> n2"), as `paceline events` and the web UI print it.
func (e ClusterEvent) Describe() string {
	what := ""
	switch {
	case strings.HasPrefix(e.Kind, "node-"):
		what = "node " + e.Node + " " + strings.TrimPrefix(e.Kind, "node-")
	case strings.HasPrefix(e.Kind, "quorum-"):
		what = e.Node + ": quorum " + strings.TrimPrefix(e.Kind, "quorum-")
	case e.Kind == "leader-changed":
		what = "leader " + orDash(e.From) + " -> " + e.To
	case e.Kind == "vip-moved":
		what = fmt.Sprintf("%s %s moved: %s -> %s", e.Resource, e.Address, e.From, e.To)
	case e.Kind == "resource-failed":
		op := e.Operation
		if e.IntervalMs > 0 {
			op += " (" + (time.Duration(e.IntervalMs) * time.Millisecond).String() + ")"
		}
		what = fmt.Sprintf("%s %s on %s failed: rc=%d", e.Resource, op, e.Node, e.RC)
	case e.From != "" && e.To != "" && strings.HasPrefix(e.Kind, "resource-"):
		what = fmt.Sprintf("%s %s: %s -> %s", e.Resource, strings.TrimPrefix(e.Kind, "resource-"), e.From, e.To)
	case strings.HasPrefix(e.Kind, "resource-"):
		what = fmt.Sprintf("%s %s on %s", e.Resource, strings.TrimPrefix(e.Kind, "resource-"), e.Node)
	case e.Kind == "config-changed":
		what = "configuration epoch " + strconv.FormatUint(e.Epoch, 10) + " by " + orDash(e.Who)
	case strings.HasPrefix(e.Kind, "alert-"):
		what = "alert " + e.Alert + " " + strings.TrimPrefix(e.Kind, "alert-")
	default:
		what = e.Kind
	}
	for _, s := range []string{e.Reason, e.Detail} {
		if s != "" {
			what += ": " + strings.Join(strings.Fields(s), " ")
		}
	}
	return what
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
