package webui

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
)

// inprocAddr is the base URL of the in-process API; it never leaves the
// process.
const inprocAddr = "https://paceline-ui.internal"

type remoteKey struct{}

// withRemote records the browser's address, which the in-process API
// request carries as its RemoteAddr (the audit entry's source).
func withRemote(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, remoteKey{}, addr)
}

// inproc is an http.RoundTripper that serves each request with the API
// handler in this process.
type inproc struct{ h http.Handler }

func (t inproc) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.RequestURI = req.URL.RequestURI()
	r.Host = req.URL.Host
	if r.Body == nil {
		r.Body = http.NoBody
	}
	r.RemoteAddr, _ = req.Context().Value(remoteKey{}).(string)
	if r.RemoteAddr == "" {
		r.RemoteAddr = "webui"
	}
	rec := &recorder{header: http.Header{}}
	t.h.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return &http.Response{Status: strconv.Itoa(rec.status) + " " + http.StatusText(rec.status), StatusCode: rec.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: rec.header, Request: req,
		Body: io.NopCloser(bytes.NewReader(rec.body.Bytes())), ContentLength: int64(rec.body.Len())}, nil
}

// recorder keeps one in-process answer.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
