package cluster

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// apiClient trusts the cluster CA of n1's data directory.
func (h *harness) apiClient() *http.Client {
	h.t.Helper()
	pem, err := os.ReadFile(filepath.Join(h.dir, "n1", "ca.pem"))
	if err != nil {
		h.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		h.t.Fatal("ca.pem holds no certificate")
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// scrape GETs https://ADDR/metrics of node n with token ("" for none) and
// returns the status and the samples by their full name with labels
// (`paceline_node_up{node="n1"}`).
func (h *harness) scrape(hc *http.Client, n, token string) (int, map[string]float64) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", "https://"+h.addr(n)+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		h.t.Fatalf("scrape %s: %v", n, err)
	}
	defer resp.Body.Close()
	samples := map[string]float64{}
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, samples
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			h.t.Fatalf("scrape %s: bad line %q", n, line)
		}
		samples[line[:i]] = v
	}
	return resp.StatusCode, samples
}

// A viewer token reads every agent's /metrics: the metric names
// with the values the cluster's state implies; no token gets 401.
func TestMetricsOnEveryAgent(t *testing.T) {
	h, st := startCluster(t)
	viewer := strings.TrimSpace(h.must("token", "create", "--role", "viewer", "--ttl", "10m"))
	_, webOn := h.web(st)
	hc := h.apiClient()
	leaders := 0
	for _, n := range []string{"n1", "n2", "n3"} {
		if code, s := h.scrape(hc, n, ""); code != http.StatusUnauthorized || len(s) != 0 {
			t.Errorf("%s: /metrics without a token: %d, want 401", n, code)
		}
		// Renewals and the monitor's runs are observed as they happen:
		// wait for a few.
		var s map[string]float64
		deadline := time.Now().Add(10 * time.Second)
		for {
			var code int
			code, s = h.scrape(hc, n, viewer)
			if code != http.StatusOK {
				t.Fatalf("%s: /metrics with a viewer token: %d", n, code)
			}
			if s["paceline_lease_renewal_seconds_count"] >= 3 || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		want := map[string]float64{
			"paceline_quorum":                        1,
			"paceline_config_epoch":                  float64(st.Epoch),
			`paceline_fence_total{result="success"}`: 0,
			`paceline_fence_total{result="failure"}`: 0,
		}
		for _, m := range []string{"n1", "n2", "n3"} {
			want[fmt.Sprintf(`paceline_node_up{node="%s"}`, m)] = 1
			want[fmt.Sprintf(`paceline_resource_failcount{node="%s",resource="web"}`, m)] = 0
		}
		want[fmt.Sprintf(`paceline_resource_active{node="%s",resource="web",role="Started"}`, webOn[0])] = 1
		for k, v := range want {
			if got, ok := s[k]; !ok || got != v {
				t.Errorf("%s: %s = %v (present %v), want %v", n, k, got, ok, v)
			}
		}
		for k := range s {
			if strings.HasPrefix(k, "paceline_resource_active{") && !strings.Contains(k, `node="`+webOn[0]+`"`) {
				t.Errorf("%s: %s: web is active elsewhere", n, k)
			}
		}
		leaders += int(s["paceline_is_leader"])
		if _, ok := s["paceline_is_leader"]; !ok {
			t.Errorf("%s: no paceline_is_leader", n)
		}
		renewals := s["paceline_lease_renewal_seconds_count"]
		if renewals < 3 || s["paceline_lease_renewal_seconds_sum"] <= 0 || s["paceline_lease_renewal_seconds_sum"]/renewals > 1 {
			t.Errorf("%s: %v renewals taking %vs in all: want several, each well under a second", n, renewals, s["paceline_lease_renewal_seconds_sum"])
		}
		// Every node probed web; the one running it started it and
		// monitors it every second.
		if s[`paceline_operation_duration_seconds_count{agent="builtin:dummy",op="monitor"}`] < 1 {
			t.Errorf("%s: no builtin:dummy monitor observed", n)
		}
		if n == webOn[0] && s[`paceline_operation_duration_seconds_count{agent="builtin:dummy",op="start"}`] != 1 {
			t.Errorf("%s runs web: start observed %v times, want 1", n, s[`paceline_operation_duration_seconds_count{agent="builtin:dummy",op="start"}`])
		}
		if n == "n1" {
			var lines []string
			for k, v := range s {
				if strings.HasPrefix(k, "paceline_") && !strings.Contains(k, "_bucket{") {
					lines = append(lines, fmt.Sprintf("%s %v", k, v))
				}
			}
			slices.Sort(lines)
			t.Logf("n1 /metrics (without buckets):\n%s", strings.Join(lines, "\n"))
		}
		t.Logf("%s: leader=%v renewals=%v mean renewal=%.2fms", n, s["paceline_is_leader"], renewals,
			1000*s["paceline_lease_renewal_seconds_sum"]/max(renewals, 1))
	}
	if leaders != 1 {
		t.Errorf("%d nodes say they lead, want 1", leaders)
	}
}
