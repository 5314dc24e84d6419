package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
)

// liveDemo runs three paceline agents on loopback as child processes of
// this binary, each in its own process group, with data in a private
// temporary directory.
type liveDemo struct {
	s      streams
	exe    string
	dir    string
	ports  map[string]int
	agents map[string]*exec.Cmd
	cl     *api.Client
	web    int // the demo web server's port
}

var demoNodes = []string{"n1", "n2", "n3"}

func (d *liveDemo) addr(n string) string { return fmt.Sprintf("127.0.0.1:%d", d.ports[n]) }

func (d *liveDemo) say(format string, args ...any) {
	fmt.Fprintf(d.s.Out, "==> "+format+"\n", args...)
}

// freeDemoPort returns a loopback port p with p+1000 (its Raft port) free.
func freeDemoPort(taken map[int]bool) (int, error) {
	for range 200 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p+1000 > 65535 || taken[p] || taken[p+1000] {
			continue
		}
		if l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1000)); err == nil {
			l2.Close()
			taken[p], taken[p+1000] = true, true
			return p, nil
		}
	}
	return 0, errors.New("demo: no free loopback ports")
}

// paceline runs this binary with args and returns its stdout.
func (d *liveDemo) paceline(args ...string) (string, error) {
	cmd := exec.Command(d.exe, args...)
	cmd.Env = demoEnv()
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("paceline %s: %s", args[0], strings.TrimSpace(string(ee.Stderr)))
		}
		return "", err
	}
	return string(out), nil
}

// demoEnv is the environment without the caller's PACELINE_* settings.
func demoEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PACELINE_") {
			env = append(env, kv)
		}
	}
	return env
}

func (d *liveDemo) startAgent(n string) error {
	logf, err := os.OpenFile(filepath.Join(d.dir, n+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	// The demo's "hosts" share this machine: each keeps its run
	// directory in its data directory, where crash finds the web server.
	cmd := exec.Command(d.exe, "agent", "--data-dir", filepath.Join(d.dir, n), "--run-dir", filepath.Join(d.dir, n, "run"))
	cmd.Env = demoEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("demo: start agent %s: %w", n, err)
	}
	d.agents[n] = cmd
	return nil
}

// crash kills node n as a host crash would: its agent's process group and
// every process the agent started (the web server runs in a group of its
// own; its pid file says which).
func (d *liveDemo) crash(n string) {
	if cmd := d.agents[n]; cmd != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		delete(d.agents, n)
	}
	pids, _ := filepath.Glob(filepath.Join(d.dir, n, "run", "process-*.pid"))
	for _, f := range pids {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.Fields(string(b) + " ")[0]); err == nil && pid > 1 {
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
}

func (d *liveDemo) cleanup() {
	for _, n := range demoNodes {
		d.crash(n)
	}
	os.RemoveAll(d.dir)
}

// wait polls the status until cond holds or limit passes.
func (d *liveDemo) wait(ctx context.Context, limit time.Duration, cond func(*api.Status) bool) (*api.Status, error) {
	var last error
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := d.cl.Status(cctx)
		cancel()
		if err == nil && cond(st) {
			return st, nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if last == nil {
		last = errors.New("condition not met")
	}
	return nil, fmt.Errorf("timed out after %v: %w", limit, last)
}

func webOf(st *api.Status) (role string, nodes []string) {
	for _, r := range st.Resources {
		if r.ID == "web" {
			return r.Role, r.Nodes
		}
	}
	return "", nil
}

func onlineNodes(st *api.Status) int {
	n := 0
	for _, x := range st.Nodes {
		if x.State == api.NodeOnline {
			n++
		}
	}
	return n
}

// get fetches the demo web page (one line).
func (d *liveDemo) get() string {
	hc := &http.Client{Timeout: time.Second}
	resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/", d.web))
	if err != nil {
		return "(no answer)"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return strings.TrimSpace(string(b))
}

// runLiveDemo tells the story: cluster up, resources created, the node
// running the web server crashes, the web server recovers elsewhere, the
// node comes back. With once it then exits (nil only if the recovery
// happened); otherwise it shows the status until ctx ends.
func runLiveDemo(ctx context.Context, s streams, once bool) (err error) {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	dir, err := privateDir("paceline-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	d := &liveDemo{s: s, exe: exe, dir: dir, ports: map[string]int{}, agents: map[string]*exec.Cmd{}}
	defer d.cleanup()
	taken := map[int]bool{}
	for _, n := range demoNodes {
		if d.ports[n], err = freeDemoPort(taken); err != nil {
			return err
		}
	}
	if d.web, err = freeDemoPort(taken); err != nil {
		return err
	}

	d.say("starting a 3-node Paceline cluster on loopback (data in %s)", dir)
	if _, err := d.paceline("init", "--name", "n1", "--data-dir", filepath.Join(dir, "n1"), "--listen", d.addr("n1")); err != nil {
		return err
	}
	if err := d.startAgent("n1"); err != nil {
		return err
	}
	tok, err := os.ReadFile(filepath.Join(dir, "n1", "admin.token"))
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(filepath.Join(dir, "n1", "ca.pem"))
	if err != nil {
		return err
	}
	var addrs []string
	for _, n := range demoNodes {
		addrs = append(addrs, "https://"+d.addr(n))
	}
	if d.cl, err = api.New(api.ClientConfig{Addrs: addrs, Token: strings.TrimSpace(string(tok)), CACertPEM: ca, Timeout: 3 * time.Second}); err != nil {
		return err
	}
	if _, err := d.wait(ctx, 20*time.Second, func(st *api.Status) bool { return st.Leader == "n1" }); err != nil {
		return fmt.Errorf("demo: n1 did not come up: %w (log: %s)", err, filepath.Join(dir, "n1.log"))
	}
	for _, n := range demoNodes[1:] {
		jt, err := d.cl.CreateJoinToken(ctx, 10*time.Minute)
		if err != nil {
			return fmt.Errorf("demo: join token: %w", err)
		}
		if _, err := d.paceline("join", "--name", n, "--data-dir", filepath.Join(dir, n), "--listen", d.addr(n), "--token", jt.Token, d.addr("n1")); err != nil {
			return err
		}
		if err := d.startAgent(n); err != nil {
			return err
		}
	}
	if _, err := d.wait(ctx, 20*time.Second, func(st *api.Status) bool { return onlineNodes(st) == 3 }); err != nil {
		return fmt.Errorf("demo: nodes did not come online: %w", err)
	}

	d.say("creating resources: web (an HTTP server on 127.0.0.1:%d run by builtin:process) and app (a group of two builtin:dummy)", d.web)
	if _, err := d.cl.CreateResource(ctx, api.ResourceRequest{ID: "web", Agent: "builtin:process",
		Params: []api.NV{{Name: "command", Value: exe}, {Name: "args", Value: fmt.Sprintf(`["demo-web", "--listen", "127.0.0.1:%d"]`, d.web)}},
		Ops:    []api.OpSpec{{Name: "monitor", Interval: "1s"}}}); err != nil {
		return fmt.Errorf("demo: create web: %w", err)
	}
	cfg, err := d.cl.Config(ctx)
	if err != nil {
		return err
	}
	// Resources stay where they run unless something fails (the usual
	// production setting; without it Pacemaker's placement rebalances).
	if cfg.RscDefaults == nil {
		cfg.RscDefaults = map[string]string{}
	}
	cfg.RscDefaults["resource-stickiness"] = "100"
	// Loopback nodes have neither a fence device nor a watchdog: with
	// stonith-enabled=true a crashed node's resources would be held (it
	// might only be paused) until an operator confirmed it down.
	if cfg.Properties == nil {
		cfg.Properties = map[string]string{}
	}
	cfg.Properties["stonith-enabled"] = "false"
	d.say("stonith-enabled=false: these loopback nodes have no fence device and no watchdog, so a lost node is " +
		"recovered once its lease ran out (it stops its own resources); with stonith-enabled=true its resources " +
		"would be held until a fence device or `paceline node confirm-down` confirmed it off")
	mon := []model.Op{{Name: "monitor", Interval: 2 * time.Second, Timeout: 20 * time.Second}}
	cfg.Resources = append(cfg.Resources, model.Resource{ID: "app", Kind: model.KindGroup, Children: []model.Resource{
		{ID: "app-config", Kind: model.KindPrimitive, Class: "builtin", Type: "dummy", Ops: mon},
		{ID: "app-worker", Kind: model.KindPrimitive, Class: "builtin", Type: "dummy", Ops: mon},
	}})
	if _, err := d.cl.ApplyConfig(ctx, cfg, false); err != nil {
		return fmt.Errorf("demo: create group app: %w", err)
	}
	st, err := d.wait(ctx, 20*time.Second, func(st *api.Status) bool {
		role, nodes := webOf(st)
		return role == api.RoleStarted && len(nodes) == 1
	})
	if err != nil {
		return fmt.Errorf("demo: web did not start: %w", err)
	}
	printStatus(s.Out, st)
	d.say("web answers: %s", d.get())

	_, nodes := webOf(st)
	victim := nodes[0]
	d.say("crashing %s, which runs web: SIGKILL to its agent and every process it started", victim)
	crashed := time.Now()
	d.crash(victim)
	st, err = d.wait(ctx, 30*time.Second, func(st *api.Status) bool {
		role, nodes := webOf(st)
		return role == api.RoleStarted && len(nodes) == 1 && nodes[0] != victim
	})
	if err != nil {
		return fmt.Errorf("demo: web was not recovered after %s crashed: %w", victim, err)
	}
	_, nodes = webOf(st)
	d.say("web recovered on %s %.1fs after the crash", nodes[0], time.Since(crashed).Seconds())
	printStatus(s.Out, st)
	d.say("web answers: %s", d.get())

	d.say("bringing %s back", victim)
	if err := d.startAgent(victim); err != nil {
		return err
	}
	st, err = d.wait(ctx, 20*time.Second, func(st *api.Status) bool { return onlineNodes(st) == 3 })
	if err != nil {
		return fmt.Errorf("demo: %s did not come back: %w", victim, err)
	}
	printStatus(s.Out, st)
	if once {
		d.say("done: web recovered from the crash of %s", victim)
		return nil
	}
	d.say("the cluster keeps running; status every 2s, Ctrl-C stops it and cleans up")
	for {
		select {
		case <-ctx.Done():
			d.say("stopping the demo cluster")
			return nil
		case <-time.After(2 * time.Second):
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if st, err := d.cl.Status(cctx); err == nil {
			fmt.Fprintln(s.Out)
			printStatus(s.Out, st)
		}
		cancel()
	}
}

// newDemoWebCmd is the demo's web server: it answers every request with
// its pid and start time. Hidden: the live demo runs it with
// builtin:process.
func newDemoWebCmd(s streams) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:    "demo-web --listen HOST:PORT",
		Short:  "The live demo's web server",
		Hidden: true,
		Args:   noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			started := time.Now().Format("15:04:05")
			srv := &http.Server{Addr: listen, ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "hello from the paceline demo web server (pid %d, started %s)\n", os.Getpid(), started)
			})}
			go func() {
				<-cmd.Context().Done()
				srv.Close()
			}()
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve on")
	return cmd
}

// privateDir makes a new directory (mode 0700) for the demo's nodes under
// the user's own cache directory ($XDG_CACHE_HOME or ~/.cache, then
// "paceline"), not in a shared temporary directory where another user
// could have prepared a name or a symbolic link.
func privateDir(prefix string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no private directory for the demo's data: %w", err)
	}
	base = filepath.Join(base, "paceline")
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", err
	}
	if fi, err := os.Lstat(base); err != nil || !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s must be a directory only its owner can use (mode 0700)", base)
	}
	return os.MkdirTemp(base, prefix)
}
