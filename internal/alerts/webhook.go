package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/paceline/paceline/internal/events"
	"github.com/paceline/paceline/internal/store"
	"github.com/paceline/paceline/internal/version"
)

// The webhook headers: the event's kind, and with an hmac secret the
// body's signature, "sha256=" and the hex HMAC-SHA256 of the body.
const (
	HeaderEvent     = "X-Paceline-Event"
	HeaderSignature = "X-Paceline-Signature"
)

// Sign returns the X-Paceline-Signature value of body under key.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// webhook POSTs e as JSON (api.ClusterEvent) to a.URL; any 2xx answer is
// a delivery.
func (d *Deliverer) webhook(ctx context.Context, a store.Alert, e store.Event) error {
	body, err := json.Marshal(events.Wire(e))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "paceline/"+version.Get().Version)
	req.Header.Set(HeaderEvent, string(e.Kind))
	if key := a.Secrets[store.AlertSecretHMAC]; key != "" {
		req.Header.Set(HeaderSignature, Sign([]byte(key), body))
	}
	resp, err := d.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s: %s", a.URL, resp.Status, oneLine(string(msg)))
	}
	return nil
}
