package webui

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// recheck is how often an open event stream checks its session's token.
const recheck = time.Second

// errStreamEnded is a write to an event stream whose session has ended.
var errStreamEnded = errors.New("webui: the session of this event stream has ended")

// events relays the API's status stream (GET /v1/events) with the
// session's token. The stream ends within a second of the token's
// revocation, and the page's next fetch asks to log in again.
func (u *UI) events(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		t := time.NewTicker(recheck)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := u.cfg.Identify(c.sess.token); err != nil {
					u.endSession(c.sess.id)
					cancel()
					return
				}
			}
		}
	}()
	req := r.Clone(ctx)
	req.URL.Path, req.URL.RawQuery, req.RequestURI = "/v1/events", "", "/v1/events"
	req.Header = http.Header{"Authorization": {"Bearer " + c.sess.token}, "Accept": {"text/event-stream"}}
	u.cfg.API.ServeHTTP(&streamWriter{ResponseWriter: w, ctx: ctx}, req)
}

// streamWriter refuses writes once the stream's context is done.
type streamWriter struct {
	http.ResponseWriter
	ctx context.Context
}

func (s *streamWriter) Write(b []byte) (int, error) {
	if s.ctx.Err() != nil {
		return 0, errStreamEnded
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController flush the stream.
func (s *streamWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
