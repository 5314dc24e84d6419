package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/events"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// keepAlive is how often an idle event stream gets a comment line.
const keepAlive = 15 * time.Second

// events streams server-sent events: a "status" snapshot now and after
// every change (unless ?status=false), and an "event" entry for every
// cluster event recorded after the one numbered ?events_after=N (default:
// the newest when the stream opens, so only new ones), after the status
// snapshot of the same change.
func (s *Server) events(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	q := r.URL.Query()
	withStatus := q.Get("status") != "false"
	var after uint64
	if v := q.Get("events_after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errorf(http.StatusBadRequest, "events_after %q: want an event number", v)
		}
		after = n
	} else if evs := s.cfg.Backend.Events(0); len(evs) > 0 {
		after = evs[len(evs)-1].Seq
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	ctx := r.Context()
	idx, err := s.cfg.Backend.Wait(ctx, 0)
	if err != nil {
		return nil
	}
	for {
		if withStatus {
			b, err := json.Marshal(s.status())
			if err != nil {
				return nil // the header is sent; nothing more to say
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: status\ndata: %s\n\n", idx, b); err != nil {
				return nil
			}
		}
		for _, e := range s.cfg.Backend.Events(after) {
			b, err := json.Marshal(events.Wire(e))
			if err != nil {
				return nil
			}
			if _, err := fmt.Fprintf(w, "event: event\ndata: %s\n\n", b); err != nil {
				return nil
			}
			after = e.Seq
		}
		if rc.Flush() != nil {
			return nil
		}
		for {
			wctx, cancel := context.WithTimeout(ctx, keepAlive)
			next, err := s.cfg.Backend.Wait(wctx, idx)
			cancel()
			if ctx.Err() != nil {
				return nil
			}
			if err == nil {
				idx = next
				break
			}
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		}
	}
}

// eventHistory answers the kept events, oldest first: those of the last
// ?since=DURATION, after ?after=N.
func (s *Server) eventHistory(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	q := r.URL.Query()
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errorf(http.StatusBadRequest, "after %q: want an event number", v)
		}
		after = n
	}
	var from int64
	if v := q.Get("since"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errorf(http.StatusBadRequest, "since %q: want a positive duration (30m, 2h)", v)
		}
		from = s.cfg.Now().Add(-d).UnixMilli()
	}
	out := api.EventLog{Events: []api.ClusterEvent{}}
	for _, e := range s.cfg.Backend.Events(after) {
		if e.At >= from {
			out.Events = append(out.Events, events.Wire(e))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// AlertChecker checks and tests alerts on this node (alerts.Deliverer).
type AlertChecker interface {
	// Check returns why a could not be delivered from this node (a
	// script that is missing or world-writable), or nil. It may block
	// briefly (a stat).
	Check(a store.Alert) error
	// Test delivers ev to a now, blocking until it was delivered or
	// failed (the error says why, in one line).
	Test(ctx context.Context, a store.Alert, ev store.Event) error
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	out := api.AlertList{Alerts: []api.Alert{}}
	for _, a := range s.cfg.Backend.Alerts() {
		out.Alerts = append(out.Alerts, alertWire(a))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// alertWire is a as GET shows it: secret names, never values.
func alertWire(a store.Alert) api.Alert {
	out := api.Alert{ID: a.ID, Kind: a.Kind, URL: a.URL, To: a.To, SMTP: a.SMTP, From: a.From, StartTLS: a.StartTLS,
		Script: a.Script, Recipient: a.Recipient, Events: a.Events}
	for name := range a.Secrets {
		out.SecretNames = append(out.SecretNames, name)
	}
	slices.Sort(out.SecretNames)
	return out
}

func (s *Server) putAlert(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	var req api.Alert
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	a := store.Alert{ID: req.ID, Kind: req.Kind, URL: req.URL, To: req.To, SMTP: req.SMTP, From: req.From,
		StartTLS: req.StartTLS, Script: req.Script, Recipient: req.Recipient, Events: req.Events, Secrets: req.Secrets,
		Created: s.cfg.Now().UnixMilli()}
	if err := a.Validate(); err != nil {
		return errorf(http.StatusBadRequest, "%s", oneLine(err))
	}
	if s.cfg.Alerts != nil {
		if err := s.cfg.Alerts.Check(a); err != nil {
			return errorf(http.StatusBadRequest, "alert %q: %v", a.ID, err)
		}
	}
	if _, err := s.propose(r.Context(), store.NewAlertPut(a)); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, alertWire(a))
	return nil
}

func (s *Server) removeAlert(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	id := r.PathValue("id")
	if res, err := s.propose(r.Context(), store.NewAlertRemove(id)); err != nil {
		if errors.Is(res.Err, store.ErrUnknownAlert) {
			return errorf(http.StatusNotFound, "no alert %q", id)
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) testAlert(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	id := r.PathValue("id")
	var a store.Alert
	found := false
	for _, x := range s.cfg.Backend.Alerts() {
		if x.ID == id {
			a, found = x, true
		}
	}
	if !found {
		return errorf(http.StatusNotFound, "no alert %q", id)
	}
	if s.cfg.Alerts == nil {
		return errorf(http.StatusNotImplemented, "this node does not deliver alerts")
	}
	ev := store.Event{At: s.cfg.Now().UnixMilli(), Kind: store.EventAlertTest, Node: s.cfg.Node, Alert: id,
		Who: author(p), Detail: "test event from paceline alert test"}
	start := time.Now()
	if err := s.cfg.Alerts.Test(r.Context(), a, ev); err != nil {
		return errorf(http.StatusBadGateway, "alert %q: %v", id, err)
	}
	writeJSON(w, http.StatusOK, api.AlertTestResult{Event: events.Wire(ev), Took: time.Since(start).Round(time.Millisecond).String()})
	return nil
}

// oneLine joins a multi-error's lines with "; ".
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
