package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/version"
	"github.com/spf13/cobra"
)

func newReportCmd(s streams) *cobra.Command {
	var since time.Duration
	var out string
	cmd := &cobra.Command{
		Use:   "report [--since DURATION] [-o FILE]",
		Short: "Collect every node's logs and the cluster's state into one archive",
		Long: `Collect what support needs into one tar.gz, through the API of every
node that answers (no ssh): the cluster status, the configuration (secret
parameters masked), the nodes, the audit log, and per node its version,
Raft state, metrics and the agent log of the last --since (the agent must
have log_file set). Nodes that cannot be reached are listed in
unreachable.txt, what a reachable node would not give in errors.txt; the
archive's README.txt says what each file is.

Reading the agent logs needs an admin token (each read is audited); with a
lower role the report is made without them. Values of secret parameters
that show up in a log are replaced by ***** (this needs an admin token
too). The archive is written with mode 0600 and never over an existing
file; its path is printed on stdout. The cluster events of the last --since
are in cluster/events.json (paceline events --json).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if since <= 0 {
				return usagef("--since %v: want a positive duration (like 30m or 24h)", since)
			}
			now := time.Now()
			if out == "" {
				out = "paceline-report-" + now.Format("20060102-150405") + ".tar.gz"
			}
			if _, err := os.Lstat(out); err == nil {
				return fmt.Errorf("report: %s already exists (choose another with -o)", out)
			}
			c, err := connect()
			if err != nil {
				return err
			}
			rep, err := gatherReport(cmd.Context(), c, since, now)
			if err != nil {
				return err
			}
			if err := rep.write(out, now); err != nil {
				return err
			}
			for _, u := range rep.unreachable {
				fmt.Fprintf(s.Err, "paceline: report: node %s unreachable: %s\n", u.node, u.reason)
			}
			_, err = fmt.Fprintln(s.Out, out)
			return err
		},
	}
	cmd.Flags().DurationVar(&since, "since", 24*time.Hour, "collect the agent log lines of this last period")
	cmd.Flags().StringVarP(&out, "output", "o", "", "archive to write (default paceline-report-YYYYMMDD-HHMMSS.tar.gz)")
	return cmd
}

// report is the gathered archive content.
type report struct {
	dir         string // the archive's top directory
	files       []reportFile
	unreachable []nodeProblem
	problems    []nodeProblem // errors.txt
	secrets     []string      // values scrubbed from every file
}

type reportFile struct {
	name string
	data []byte
}

type nodeProblem struct{ node, reason string }

func (r *report) add(name string, data []byte) {
	r.files = append(r.files, reportFile{name: r.dir + "/" + name, data: data})
}

func (r *report) addJSON(name string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		r.problems = append(r.problems, nodeProblem{"-", fmt.Sprintf("encode %s: %v", name, err)})
		return
	}
	r.add(name, append(b, '\n'))
}

// gatherReport asks the cluster (through c) for its state, then every
// member at its own address for its node files. Only a cluster that does
// not answer at all is an error.
func gatherReport(ctx context.Context, c *api.Client, since time.Duration, now time.Time) (*report, error) {
	r := &report{dir: "paceline-report-" + now.UTC().Format("20060102-150405")}
	st, err := c.Status(ctx)
	if err != nil {
		return nil, failure("report: read status", "", err)
	}
	r.addJSON("cluster/status.json", st)
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil, failure("report: read nodes", "", err)
	}
	r.addJSON("cluster/nodes.json", nodes)
	cluster := func(name string, get func() (any, error)) {
		v, err := get()
		if err != nil {
			r.problems = append(r.problems, nodeProblem{"cluster", fmt.Sprintf("%s: %v", name, failure("read", "", err))})
			return
		}
		if b, ok := v.([]byte); ok {
			r.add(name, b)
			return
		}
		r.addJSON(name, v)
	}
	// The configuration as the API shows it: secret values masked.
	cluster("cluster/config.yaml", func() (any, error) { return c.ConfigYAML(ctx) })
	cluster("cluster/audit.json", func() (any, error) { return c.Audit(ctx) })
	cluster("cluster/events.json", func() (any, error) {
		evs, err := c.Events(ctx, since, 0)
		return api.EventLog{Events: evs}, err
	})

	// The secret values, only to scrub them from logs (admin only; a
	// lower role cannot read the logs either).
	if y, err := c.ConfigYAMLWithSecrets(ctx); err == nil {
		if full, err := api.DecodeConfigYAML(y); err == nil {
			r.secrets = full.SecretValues()
		}
	}

	versions := map[string]any{"report": version.Get()}
	for _, n := range nodes {
		nc, err := c.At(n.Address)
		if n.Address == "" || err != nil {
			r.unreachable = append(r.unreachable, nodeProblem{n.Name, "no API address recorded"})
			continue
		}
		info, err := nc.NodeInfo(ctx)
		if err != nil {
			r.unreachable = append(r.unreachable, nodeProblem{n.Name, fmt.Sprintf("%s: %s", n.Address, oneLine(errText(err)))})
			continue
		}
		if info.Name != n.Name {
			r.unreachable = append(r.unreachable, nodeProblem{n.Name, fmt.Sprintf("%s answers as node %q", n.Address, info.Name)})
			continue
		}
		versions[n.Name] = map[string]string{"version": info.Version, "revision": info.Revision,
			"go_version": info.GoVersion, "platform": info.Platform}
		r.addJSON("nodes/"+n.Name+"/node.json", info)
		if m, err := nc.Metrics(ctx); err == nil {
			r.add("nodes/"+n.Name+"/metrics.txt", m)
		} else {
			r.problems = append(r.problems, nodeProblem{n.Name, "metrics: " + oneLine(errText(err))})
		}
		switch log, err := nc.NodeLog(ctx, since); {
		case err == nil:
			r.add("nodes/"+n.Name+"/agent.log", log)
		case isStatus(err, http.StatusForbidden):
			r.problems = append(r.problems, nodeProblem{n.Name, "agent log: reading it needs an admin token"})
		default:
			r.problems = append(r.problems, nodeProblem{n.Name, "agent log: " + oneLine(errText(err))})
		}
	}
	r.addJSON("versions.json", versions)
	r.add("unreachable.txt", problemLines(r.unreachable, "every member answered\n"))
	r.add("errors.txt", problemLines(r.problems, "nothing failed\n"))
	r.add("README.txt", r.readme(st, since, now))
	return r, nil
}

// errText is an API error's message without the package prefix.
func errText(err error) string {
	var ae *api.Error
	if errors.As(err, &ae) {
		return fmt.Sprintf("HTTP %d: %s", ae.StatusCode, ae.Message)
	}
	return strings.TrimPrefix(err.Error(), "api: ")
}

func problemLines(ps []nodeProblem, none string) []byte {
	if len(ps) == 0 {
		return []byte(none)
	}
	var b bytes.Buffer
	for _, p := range ps {
		fmt.Fprintf(&b, "%s: %s\n", p.node, p.reason)
	}
	return b.Bytes()
}

func (r *report) readme(st *api.Status, since time.Duration, now time.Time) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `Paceline support report

Made %s by paceline report %s, through the cluster's API.
Leader: %s; quorum: %v; configuration epoch: %d.
Agent logs cover the last %v.

cluster/status.json   the cluster status (paceline status --json)
cluster/nodes.json    the members: role, API address, state, node attributes
cluster/config.yaml   the configuration (paceline config export); secret
                      parameter values are masked as %s
cluster/audit.json    the hash-chained audit log (paceline audit --json)
cluster/events.json   the cluster events (node lost, resource recovered, ...)
                      of the last %[6]v (paceline events --json)
nodes/NODE/node.json  the node's version and Raft state (hashicorp/raft stats)
nodes/NODE/metrics.txt  its Prometheus metrics at collection time
nodes/NODE/agent.log  its agent log (log_file), newest 16 MiB at most
versions.json         the version of every node that answered, and of the
                      paceline that made this report
unreachable.txt       the members whose API could not be reached, and why
errors.txt            what a reachable node or the cluster would not give
`, now.UTC().Format(time.RFC3339), version.Get().Version, dash(st.Leader), st.Quorum, st.Epoch, since, model.SecretMask)
	if len(r.secrets) > 0 {
		fmt.Fprintf(&b, "\nThe values of %d secret parameter(s) were replaced by %s wherever they appeared.\n", len(r.secrets), model.SecretMask)
	}
	if len(r.unreachable) > 0 {
		var names []string
		for _, u := range r.unreachable {
			names = append(names, u.node)
		}
		sort.Strings(names)
		fmt.Fprintf(&b, "\nNot reached: %s (see unreachable.txt).\n", strings.Join(names, ", "))
	}
	return b.Bytes()
}

// write makes the tar.gz at path (mode 0600, never over an existing
// file), each file scrubbed of the secret values; a failure leaves no
// file behind.
func (r *report) write(path string, now time.Time) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			err = fmt.Errorf("report: write %s: %w", path, err)
		}
	}()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	dirs := map[string]bool{}
	for _, file := range r.files {
		for d := parentDir(file.name); d != "" && !dirs[d]; d = parentDir(d) {
			dirs[d] = true
		}
	}
	var dirList []string
	for d := range dirs {
		dirList = append(dirList, d)
	}
	sort.Strings(dirList)
	for _, d := range dirList {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o700, ModTime: now}); err != nil {
			return err
		}
	}
	for _, file := range r.files {
		data := scrub(file.data, r.secrets)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: file.name, Mode: 0o600, Size: int64(len(data)), ModTime: now}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func parentDir(name string) string {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return ""
	}
	return name[:i]
}

// scrub replaces every secret value in b by the mask.
func scrub(b []byte, secrets []string) []byte {
	for _, s := range secrets {
		b = bytes.ReplaceAll(b, []byte(s), []byte(model.SecretMask))
	}
	return b
}
