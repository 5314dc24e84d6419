package httpapi

import (
	"net/http"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/pki"
)

// The node endpoints `paceline report` gathers from every node: GET
// /v1/node (viewer) describes the answering node (Config.Info) and GET
// /v1/node/log?since=DURATION (admin: logs may say more than the API
// shows) serves its agent log (Config.Log).

// nodeLocal reports whether a route describes this node itself (its
// metrics, version, Raft state, log) rather than the cluster's state: it
// is answered even while this node's copy of that state is behind (no
// Freshness wait), which is when an operator most needs it. Tokens are
// then checked against that copy and the tokens file.
func nodeLocal(pattern string) bool {
	switch pattern {
	case "GET /metrics", "GET /v1/node", "GET /v1/node/log":
		return true
	}
	return false
}

// LogReader reads this node's agent log (logfile.Writer).
type LogReader interface {
	// ReadSince returns the lines written at or after since (zero: all
	// kept), oldest first, at most limit bytes (the newest). It may be
	// called from many goroutines and must not block the log's writers.
	ReadSince(since time.Time, limit int64) ([]byte, error)
}

func (s *Server) getNode(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	if s.cfg.Info == nil {
		return errorf(http.StatusNotFound, "this server does not describe its node")
	}
	ni := s.cfg.Info()
	ni.LogFile = s.cfg.Log != nil
	writeJSON(w, http.StatusOK, ni)
	return nil
}

func (s *Server) getNodeLog(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errorf(http.StatusBadRequest, "since: %q is not a positive duration (like 30m or 24h)", v)
		}
		since = s.cfg.Now().Add(-d)
	}
	if s.cfg.Log == nil {
		return errorf(http.StatusNotFound, "node %s keeps no log file (log_file is not set in its configuration)", s.cfg.Node)
	}
	b, err := s.cfg.Log.ReadSince(since, api.MaxLogBytes)
	if err != nil {
		return errorf(http.StatusInternalServerError, "read the agent log: %v", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}
