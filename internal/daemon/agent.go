package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/agentcatalog"
	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/agents/builtin"
	"github.com/paceline/paceline/internal/agents/ocf"
	"github.com/paceline/paceline/internal/clock"
	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/executor"
	"github.com/paceline/paceline/internal/httpapi"
	"github.com/paceline/paceline/internal/logfile"
	"github.com/paceline/paceline/internal/membership"
	"github.com/paceline/paceline/internal/metrics"
	"github.com/paceline/paceline/internal/node"
	"github.com/paceline/paceline/internal/peer"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
	"github.com/paceline/paceline/internal/version"
	"github.com/paceline/paceline/internal/watchdog"
)

// bootstrapFile marks a data directory made by init whose Raft cluster is
// still to be bootstrapped by the first agent start.
const bootstrapFile = "bootstrap"

// InitOptions are the inputs of `paceline init`.
type InitOptions struct {
	// Name, Role, DataDir, Listen and Advertise as in Config.
	Name, Role, DataDir, Listen, Advertise string
	// Cluster names the cluster in its CA (default "paceline").
	Cluster string
	// TwoNode declares a two-node cluster (`paceline init --two-node`):
	// the bootstrap sets the two-node property (docs/two-node.md).
	TwoNode bool
}

// InitResult tells where init wrote what the operator needs.
type InitResult struct {
	AdminToken, CACert string
}

// Init makes DataDir the first node of a new cluster: the cluster CA, the
// node's certificate (for its advertised host), an admin token
// (DataDir/admin.token), the node's identity (node.yaml) and the mark
// that the next agent start bootstraps Raft. It refuses a directory that
// already holds a cluster.
func Init(o InitOptions) (InitResult, error) {
	c, err := nodeConfig(o.Name, o.Role, o.DataDir, o.Listen, o.Advertise)
	if err != nil {
		return InitResult{}, err
	}
	if c.Role != "server" {
		return InitResult{}, fmt.Errorf("%w: role: the first node must be a server, not %s", ErrConfig, c.Role)
	}
	if o.Cluster == "" {
		o.Cluster = "paceline"
	}
	if err := pki.EnsureDir(c.DataDir); err != nil {
		return InitResult{}, err
	}
	host, _, _ := net.SplitHostPort(c.Advertise)
	p := pki.Paths{Dir: c.DataDir}
	if _, err := pki.InitNode(p, o.Cluster, c.Name, pki.RoleServer, []string{host}, time.Now()); err != nil {
		return InitResult{}, err
	}
	if err := writeNodeFile(c); err != nil {
		return InitResult{}, err
	}
	mark := "bootstrap on first start\n"
	if o.TwoNode {
		mark += twoNodeMark + "\n"
	}
	if err := pki.WriteFile(filepath.Join(c.DataDir, bootstrapFile), []byte(mark), 0o600); err != nil {
		return InitResult{}, err
	}
	return InitResult{AdminToken: p.AdminToken(), CACert: p.CACert()}, nil
}

// nodeConfig is the configuration init and join write for a node: only
// what their flags say (no file, no environment), with the defaults.
func nodeConfig(name, role, dataDir, listen, advertise string) (Config, error) {
	flags := map[string]string{"name": name, "data_dir": dataDir}
	for k, v := range map[string]string{"role": role, "listen": listen, "advertise": advertise} {
		if v != "" {
			flags[k] = v
		}
	}
	return LoadConfig(os.DevNull, nil, flags)
}

func writeNodeFile(c Config) error {
	b, err := yaml.Marshal(map[string]string{"name": c.Name, "role": c.Role, "listen": c.Listen, "advertise": c.Advertise, "raft_listen": c.RaftListen})
	if err != nil {
		return err
	}
	return pki.WriteFile(filepath.Join(c.DataDir, NodeFile), b, 0o600)
}

// raftAdvertise is the Raft address peers dial: the advertised host with
// the Raft port.
func raftAdvertise(c Config) string {
	host, _, _ := net.SplitHostPort(c.Advertise)
	_, port, _ := net.SplitHostPort(c.RaftListen)
	return net.JoinHostPort(host, port)
}

// clientHeartbeat is how often the leader heartbeats a client
// (consensus.Config.ClientHeartbeat).
const clientHeartbeat = 500 * time.Millisecond

// Run runs `paceline agent` until ctx ends: Raft over mutual TLS, the
// executor (builtin and OCF agents), the runtime, and the API with the
// peer endpoints on Listen. logw receives the log.
func Run(ctx context.Context, c Config, logw io.Writer) error {
	// With log_file, everything logged goes to the rotated file too (the
	// report collects it through GET /v1/node/log).
	var logRead httpapi.LogReader
	if c.LogFile != "" {
		lf, err := logfile.Open(logfile.Config{Path: c.LogFile})
		if err != nil {
			return fmt.Errorf("%w: log_file: %v", ErrConfig, err)
		}
		defer lf.Close()
		logw, logRead = tee{logw, lf}, lf
	}
	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level(c.LogLevel)}))
	logf := func(format string, args ...any) { logger.Info(fmt.Sprintf(format, args...)) }
	leases := membership.Config{Heartbeat: c.Heartbeat, TTL: c.LeaseTTL, SelfFenceDeadline: c.SelfFenceDeadline}
	p := pki.Paths{Dir: c.DataDir}
	ca, err := pki.LoadCA(p)
	if err != nil {
		return fmt.Errorf("%w (run paceline init or join first)", err)
	}
	cert, err := pki.LoadNode(p)
	if err != nil {
		return err
	}
	recs, err := pki.LoadTokens(p.Tokens())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// The keys passed their mode checks; keep the data directory 0700.
	if err := pki.EnsureDir(c.DataDir); err != nil {
		return err
	}
	revoked := &revocations{}
	// Every TLS configuration reads the keyring at each handshake: a CA
	// rotation changes the trusted CAs and this node's certificate while
	// the agent runs (ca.go).
	keys, err := pki.NewKeyring(ca, cert, revoked.Revoked)
	if err != nil {
		return err
	}

	tc := consensus.DefaultTransportConfig()
	tc.Bind, tc.Advertise, tc.Server, tc.ClientFunc = c.RaftListen, raftAdvertise(c), keys.ServerTLS(), keys.ClientTLS
	trans, err := consensus.NewTLSTransport(tc)
	if err != nil {
		return err
	}
	rc := consensus.DefaultConfig()
	rc.ID, rc.Role, rc.DataDir = c.Name, store.Role(c.Role), filepath.Join(c.DataDir, "raft")
	// Raft's own warnings (elections, lost contact) go to the agent's log;
	// with log_level debug, its informational lines too.
	rc.LogOutput, rc.LogLevel = logw, "warn"
	if c.LogLevel == "debug" {
		rc.LogLevel = "info"
	}
	// Elections must end within the lease margin (membership.RaftTimeout).
	rc.HeartbeatTimeout = leases.RaftTimeout()
	// The leader steps down after three quarters of it without a quorum:
	// before any successor can be elected (followers wait a whole timeout),
	// yet not at every scheduling hiccup of a loaded host.
	rc.ElectionTimeout, rc.LeaderLeaseTimeout = rc.HeartbeatTimeout, rc.HeartbeatTimeout*3/4
	// An idle voter answers raft's idle appends every 50-100 ms; while
	// it does, the leader's heartbeats to it (every 27-55 ms) wait: they
	// go after half the lease without an answer (consensus.Config.
	// QuietHeartbeats). That halves an idle leader's round trips.
	rc.QuietHeartbeats = rc.LeaderLeaseTimeout / 2
	// Clients (VM hosts and the like, up to hundreds) are heartbeaten
	// twice a second, not at raft's rate: their contact keeps no leader,
	// and at raft's rate each one cost the leader about 1% of a core
	// (bench/idle-cpu.sh CLIENTS=10). A client waits five of them before
	// it counts the leader lost; it learns a new leader from the new
	// leader's first append, sent at its election.
	rc.ClientHeartbeat = clientHeartbeat
	if rc.Role == store.RoleClient {
		rc.HeartbeatTimeout = 5 * clientHeartbeat
		rc.ElectionTimeout = rc.HeartbeatTimeout
	}
	cn, err := consensus.NewNode(rc, trans.Transport())
	if err != nil {
		trans.Close()
		return err
	}
	defer cn.Shutdown()
	revoked.set(cn)

	peers := peer.NewClientFunc(keys.ClientTLS, func(name string) (addr string, ok bool) {
		cn.Read(func(s *store.Store) {
			if m, found := s.MemberState(name); found && m.Address != "" {
				addr, ok = m.Address, true
			}
		})
		return addr, ok
	}, 5*time.Second)
	defer peers.Close()
	backend := NewBackend(cn, peers)
	// The API handler, served on Listen below; the Pacemaker helper
	// commands' local endpoint (startCompat) writes through it too.
	joins := pki.NewJoinTokens(ca.Fingerprint())
	// Gauges are read from this node's copy of the state at each scrape;
	// the histograms are fed by the runtime's and the executor's hooks.
	ms := metrics.New(func() metrics.State {
		leader, quorum := backend.Leader()
		return httpapi.MetricsState(backend.Config(), backend.Members(), leader, quorum, c.Name, time.Now())
	})
	info := func() api.NodeInfo {
		v := version.Get()
		return api.NodeInfo{Name: c.Name, Version: v.Version, Revision: v.Revision, GoVersion: v.GoVersion,
			Platform: v.Platform, Raft: cn.Stats()}
	}
	// Cluster events and alerts (events.go): recorded and delivered by the leader.
	evp, err := newEventParts(c.Name, store.Role(c.Role), cn, backend, logf)
	if err != nil {
		return err
	}
	apiSrv := httpapi.New(httpapi.Config{Backend: apiBackend{backend}, Tokens: pki.NewTokenSet(recs...),
		Join: joins, Logger: logger, Node: c.Name, Metrics: ms.Handler(), Info: info, Log: logRead,
		Alerts: evp.deliverer})

	stonithClass, fencer, err := newFencing(logf)
	if err != nil {
		return err
	}
	var ex *executor.Executor
	if c.Role != "witness" {
		// The run directory holds pid and state files, no secrets; agents
		// that switch user (a database's) must be able to reach it, as
		// Debian's /run/resource-agents (0755).
		if err := os.MkdirAll(c.RunDir, 0o755); err != nil {
			return fmt.Errorf("run_dir: %w", err)
		}
		bc, err := builtin.New(builtin.Config{RunDir: c.RunDir, Attrs: nodeAttrs{b: backend, node: c.Name},
			Peers: nodePeers{b: backend}})
		if err != nil {
			return err
		}
		oc := ocf.DefaultConfig()
		if oc.Root, oc.ExtraRoots, err = ocfRoots(c.AgentDirs); err != nil {
			return err
		}
		oc.RunDir = filepath.Join(c.RunDir, "ocf")
		// Agents find crm_node, crm_attribute, ... (package compat) first.
		env, stopCompat, err := startCompat(c, backend, apiSrv, logf)
		if err != nil {
			return err
		}
		defer stopCompat()
		oc.Env = env
		oca, err := ocf.New(oc)
		if err != nil {
			return err
		}
		ex, err = executor.New(executor.Config{Node: c.Name, Agents: map[string]executor.Agent{"builtin": bc, "ocf": oca, "stonith": stonithClass},
			Observe: func(a agents.Type, op string, took time.Duration) { ms.ObserveOperation(a.String(), op, took) }})
		if err != nil {
			return err
		}
		defer ex.Close()
		// The catalogue checks resources against their agents' meta-data
		// on this node (resource agents, describe, create and update).
		apiSrv.SetAgents(agentcatalog.New(agentcatalog.Config{
			Classes:  map[string]agentcatalog.Runner{"builtin": bc, "ocf": oca, "stonith": stonithClass},
			OCFRoots: append([]string{oc.Root}, oc.ExtraRoots...),
			Names:    map[string][]string{"builtin": builtin.Types(), "stonith": stonithClass.Types()},
		}))
	}
	var guard time.Duration // the watchdog guards the lease (Runtime.FeedWatchdog)
	if c.Watchdog != "" {
		guard = c.SelfFenceDeadline
	}
	rt, err := node.New(node.Config{Name: c.Name, Node: cn, Executor: ex, Peers: peers, Logf: logf,
		Leases: leases, Watchdog: guard, Propose: backend.Propose, ObserveRenewal: ms.ObserveRenewal, Fencer: fencer,
		// The hook for fence events (issue 13 leaves the event log to the
		// events package); for now the fence counter.
		OnFenced: func(rec store.FenceRecord, err error) {
			if rec.Fenced != nil {
				ms.ObserveFence(metrics.FenceSuccess)
			} else {
				ms.ObserveFence(metrics.FenceFailure)
			}
		}})
	if err != nil {
		return err
	}

	backend.rt = rt
	cas := &caManager{name: c.Name, paths: p, node: cn, keys: keys, peers: peers, joins: joins,
		propose: backend.Propose, trans: trans, revoked: revoked.Revoked, logf: logf}
	backend.ca = cas
	hooks := rt.Hooks()
	hooks.Trusts = keys.Trusts
	// The watchdog is fed only while this node's lease is valid for longer
	// than the watchdog timeout: a node that is cut off or hung is reset
	// before its lease expires, and the leader recovers it at expiry.
	spec, err := watchdog.Parse(c.Watchdog)
	if err != nil {
		return fmt.Errorf("%w: watchdog: %v", ErrConfig, err)
	}
	wd, err := watchdog.Open(spec, watchdog.Options{Timeout: c.SelfFenceDeadline})
	if err != nil {
		return fmt.Errorf("watchdog %s: %w", c.Watchdog, err)
	}
	if wd != nil {
		// Fed every quarter heartbeat, so the last feed before the lease
		// check says stop comes at most that long before it (the watchdog
		// resets the host no earlier); a renewal feeds at once.
		fc := watchdog.DefaultFeederConfig()
		fc.Interval, fc.Logf = c.Heartbeat/4, logf
		feeder, err := watchdog.NewFeeder(wd, rt.FeedWatchdog, clock.Real{}, fc)
		if err != nil {
			wd.Close()
			return err
		}
		feeder.Start()
		rt.OnRenewed(feeder.Kick)
		defer func() {
			feeder.Stop()
			wd.Close() // a clean stop disarms it
		}()
		logf("watchdog %s (timeout %v) fed every %v until %v before the lease expires", spec, guard, fc.Interval, guard+c.Heartbeat/2)
	}

	mux := http.NewServeMux()
	mux.Handle(peer.Prefix, newPeerHandler(cn, hooks, peers, cas))
	jh := &joinHandler{ca: keys.CA, tokens: joins, node: cn, apiTok: func() []pki.TokenRecord { return recs }}
	mux.Handle("/v1/join", jh)
	mux.Handle("/v1/join/ca", jh)
	mux.Handle("/", apiSrv)
	srv := &http.Server{Addr: c.Listen, Handler: mux, TLSConfig: keys.APIServerTLS(),
		ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(logw, "http: ", 0)}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", c.Listen, err)
	}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.ServeTLS(ln, "", "") }()
	defer srv.Close()

	// The runtime outlives ctx (SIGTERM) by the drain: its heartbeats keep
	// the lease and its results reach the leader while resources move.
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	rtDone := make(chan struct{})
	go func() { rt.Run(rctx); close(rtDone) }()
	defer func() { stop(); <-rtDone }()

	if err := bootstrap(ctx, c, cn, keys, logf); err != nil {
		return err
	}
	caDone := make(chan struct{})
	go func() { cas.run(rctx); close(caDone) }()
	defer func() { stop(); <-caDone }()
	evDone := make(chan struct{})
	go func() { evp.run(rctx); close(evDone) }()
	defer func() { stop(); <-evDone }()
	if err := completeJoin(ctx, c, peers, logf); err != nil {
		return err
	}
	if c.Role == "server" {
		// Two-node clusters without a witness (docs/two-node.md).
		tn := &twoNode{name: c.Name, dataDir: c.DataDir, cn: cn, rt: rt, ttl: leases.TTL, propose: backend.Propose,
			logf: logf, restart: reexec(cn)}
		backend.twoNode.Store(tn)
		tnDone := make(chan struct{})
		go func() { tn.run(rctx); close(tnDone) }()
		defer func() { stop(); <-tnDone }()
	}
	logf("paceline agent %s (%s) serving on %s, raft on %s", c.Name, c.Role, c.Listen, c.RaftListen)
	select {
	case <-ctx.Done():
		logf("paceline agent %s stopping: draining", c.Name)
	case <-rt.ShutdownRequested():
		logf("paceline agent %s asked to stop through the cluster: draining", c.Name)
	case err := <-srvErr:
		return fmt.Errorf("api server: %w", err)
	}
	if ex == nil {
		return nil // a witness runs nothing
	}
	res, err := rt.Drain(context.Background(), c.ShutdownTimeout)
	switch {
	case err != nil:
		logf("paceline agent %s: %v", c.Name, err)
	case res.Maintenance:
		logf("paceline agent %s stopped; its resources keep running, unmanaged (maintenance)", c.Name)
	default:
		logf("paceline agent %s drained and stopped", c.Name)
	}
	return nil
}

// bootstrap makes the node of a fresh init a one-node cluster and records
// it as a member, then drops the mark.
func bootstrap(ctx context.Context, c Config, node *consensus.Node, keys *pki.Keyring, logf func(string, ...any)) error {
	mark := filepath.Join(c.DataDir, bootstrapFile)
	what, err := os.ReadFile(mark)
	if err != nil {
		return nil
	}
	if err := node.Bootstrap(); err != nil && !errors.Is(err, consensus.ErrAlreadyBootstrapped) {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for !node.IsLeader() {
		if time.Now().After(deadline) {
			return errors.New("bootstrap: this node did not become the leader in 10s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	if r, err := node.JoinAt(ctx, c.Name, raftAdvertise(c), c.Advertise, store.Role(c.Role)); err != nil || r.Err != nil {
		return fmt.Errorf("bootstrap: record %s: %v", c.Name, errors.Join(err, r.Err))
	}
	// The CA bundle and this node's certificate, so the cluster can
	// rotate its CA (ca.go); this node holds the CA key.
	ca := keys.CA()
	bundle := []string{string(pki.EncodeCert(ca.Cert))}
	for _, t := range ca.Trust {
		bundle = append(bundle, string(pki.EncodeCert(t)))
	}
	err = recordCert(ctx, node, certRecord(c.Name, keys.Leaf(), pki.Fingerprint(ca.Cert)))
	if err == nil {
		var res store.Result
		if res, err = node.Apply(ctx, store.NewCASet(store.CASet{Certs: bundle, Holder: c.Name, At: time.Now().UnixMilli()})); err == nil {
			err = res.Err
		}
	}
	if err == nil && slices.Contains(strings.Split(string(what), "\n"), twoNodeMark) {
		err = declareTwoNode(ctx, node)
	}
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	logf("bootstrapped a new cluster with %s as its first member", c.Name)
	return os.Remove(mark)
}

// tee writes every line to the agent's stderr and its log file: a failure
// of one does not keep the line from the other.
type tee struct{ a, b io.Writer }

func (t tee) Write(p []byte) (int, error) {
	_, errA := t.a.Write(p)
	_, errB := t.b.Write(p)
	return len(p), errors.Join(errA, errB)
}

func level(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

var _ builtin.NodeAttrsSetter = nodeAttrs{}

// nodeAttrs publishes this node's attributes (builtin:ping's pingd)
// through the replicated store.
type nodeAttrs struct {
	b    *Backend
	node string
}

func (a nodeAttrs) SetNodeAttr(ctx context.Context, name, value string) error {
	return a.SetNodeAttrs(ctx, map[string]string{name: value})
}

// SetNodeAttrs sets several attributes in one replicated write
// (builtin.NodeAttrsSetter).
func (a nodeAttrs) SetNodeAttrs(ctx context.Context, attrs map[string]string) error {
	res, err := a.b.Propose(ctx, store.NewNodeAttrSet(a.node, attrs))
	if err == nil {
		err = res.Err
	}
	return err
}

// nodePeers lists the members and their attributes from the local store
// (builtin:postgresql finds its primary there).
type nodePeers struct{ b *Backend }

// Sync waits until the local store has applied index (a leader's
// applied index: controller.Op.Index), polling: a node that lags is
// catching up, which is rare and short.
func (p nodePeers) Sync(ctx context.Context, index uint64) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !p.b.Reached(index) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

func (p nodePeers) Peers() []builtin.Peer {
	var out []builtin.Peer
	for _, m := range p.b.Members() {
		host := m.Address
		if h, _, err := net.SplitHostPort(m.Address); err == nil {
			host = h
		}
		out = append(out, builtin.Peer{Name: m.Name, Host: host, Online: m.State == store.StateOnline, Attrs: maps.Clone(m.Attributes)})
	}
	return out
}
