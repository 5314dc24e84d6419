package builtin

// Running PostgreSQL's programs for builtin:postgresql. Every program is
// exec'd directly (never through a shell) as the instance's OS user, with
// a minimal environment. SQL goes to psql over the Unix socket on stdin,
// so no statement (nor a password in one) appears on a command line; psql
// rather than a protocol library because the server's own client needs no
// new module and speaks every authentication method the host configured.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrPGRun is wrapped by the errors of PostgreSQL programs that failed.
var ErrPGRun = errors.New("postgresql: command failed")

// pgHost runs PostgreSQL's programs for one instance.
type pgHost struct {
	p        pgParams
	uid, gid uint32
	sockDir  string // the server's Unix socket directory (under RunDir)
	passfile string // libpq passfile ("" without a replication password)
	logPath  string // the server's stdout and stderr
}

// lookupUser resolves the OS user.
func lookupUser(name string) (uint32, uint32, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: user %q: %v", ErrPGParam, name, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return uint32(uid), uint32(gid), nil
}

func (h *pgHost) env() []string {
	env := []string{"PATH=" + h.p.BinDir + ":/usr/bin:/bin", "LANG=C", "LC_ALL=C", "PGCONNECT_TIMEOUT=5", "HOME=" + filepath.Dir(h.p.PGData)}
	if h.passfile != "" {
		env = append(env, "PGPASSFILE="+h.passfile)
	}
	return env
}

func (h *pgHost) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(h.p.BinDir, prog), args...)
	cmd.Env = h.env()
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: &syscall.Credential{Uid: h.uid, Gid: h.gid}}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// run runs prog and returns its stdout; an error carries the tail of its
// stderr.
func (h *pgHost) run(ctx context.Context, stdin string, prog string, args ...string) (string, error) {
	cmd := h.command(ctx, prog, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		msg := strings.Join(strings.Fields(errb.String()), " ") // one line, for an exit reason
		if len(msg) > 400 {
			msg = "..." + msg[len(msg)-400:]
		}
		return out.String(), fmt.Errorf("%w: %s: %v: %s", ErrPGRun, prog, err, msg)
	}
	return out.String(), nil
}

// query runs SQL through the local socket as the instance's user and
// returns the rows, fields separated by '|'.
func (h *pgHost) query(ctx context.Context, sql string) ([][]string, error) {
	out, err := h.run(ctx, sql, "psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", h.sockDir, "-p", strconv.Itoa(h.p.Port), "-U", h.p.User, "-d", "postgres")
	if err != nil {
		return nil, err
	}
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			rows = append(rows, strings.Split(l, "|"))
		}
	}
	return rows, nil
}

// value runs a query of one row and one column.
func (h *pgHost) value(ctx context.Context, sql string) (string, error) {
	rows, err := h.query(ctx, sql)
	if err != nil {
		return "", err
	}
	if len(rows) != 1 || len(rows[0]) != 1 {
		return "", fmt.Errorf("%w: %q returned %d rows", ErrPGRun, sql, len(rows))
	}
	return rows[0][0], nil
}

// running reports whether a postmaster serves pgdata (pg_ctl status: 0
// running, 3 not running, 4 no data directory).
func (h *pgHost) running(ctx context.Context) bool {
	cmd := h.command(ctx, "pg_ctl", "status", "-D", h.p.PGData)
	return cmd.Run() == nil
}

// hasData reports whether pgdata holds a database cluster.
func (h *pgHost) hasData() bool {
	_, err := os.Stat(filepath.Join(h.p.PGData, "PG_VERSION"))
	return err == nil
}

// isStandbyData reports whether the data directory is set up as a
// standby (standby.signal present).
func (h *pgHost) isStandbyData() bool {
	_, err := os.Stat(filepath.Join(h.p.PGData, "standby.signal"))
	return err == nil
}

// rewindMark marks the data of an old primary started as a standby with
// no primary to follow: it must be rewound before it follows one. It lives
// in pgdata (PostgreSQL ignores it; pg_rewind removes it, as a file the
// source lacks) so that it survives a reboot as the data does.
func (h *pgHost) rewindMark() string { return filepath.Join(h.p.PGData, "paceline.rewind") }

// mustRewind reports whether rewindMark is there.
func (h *pgHost) mustRewind() bool {
	_, err := os.Stat(h.rewindMark())
	return err == nil
}

// ensureEmptyDir makes sure pgdata exists, belongs to the user, has mode
// 0700 and holds nothing: a directory with files but no PG_VERSION is
// refused (it is not ours to clear).
func (h *pgHost) ensureEmptyDir() error {
	if err := os.MkdirAll(h.p.PGData, 0o700); err != nil {
		return err
	}
	ents, err := os.ReadDir(h.p.PGData)
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("pgdata %s holds %d files but no database (no PG_VERSION); not touching it", h.p.PGData, len(ents))
	}
	if err := os.Chown(h.p.PGData, int(h.uid), int(h.gid)); err != nil {
		return err
	}
	return os.Chmod(h.p.PGData, 0o700)
}

// writeOwned writes a file in pgdata (or RunDir) owned by the user.
func (h *pgHost) writeOwned(path, content string, mode os.FileMode) error {
	if err := writeFile(path, content); err != nil {
		return err
	}
	if err := os.Chmod(path, mode); err != nil {
		return err
	}
	return os.Chown(path, int(h.uid), int(h.gid))
}

// setAuto replaces settings in postgresql.auto.conf.
func (h *pgHost) setAuto(set map[string]string) (changed bool, err error) {
	path := filepath.Join(h.p.PGData, "postgresql.auto.conf")
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	text := setAutoConf(string(old), set)
	if text == string(old) {
		return false, nil
	}
	return true, h.writeOwned(path, text, 0o600)
}

// autoSetting reads one setting the agent wrote to postgresql.auto.conf.
func (h *pgHost) autoSetting(name string) string {
	b, _ := os.ReadFile(filepath.Join(h.p.PGData, "postgresql.auto.conf"))
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, "=")
		if ok && strings.TrimSpace(k) == name {
			v = strings.TrimSpace(v)
			v = strings.TrimSuffix(strings.TrimPrefix(v, "'"), "'")
			return strings.ReplaceAll(v, "''", "'")
		}
	}
	return ""
}

// startServer execs postgres (no pg_ctl: its -o options go through a
// shell) in its own session, then waits until it accepts connections.
func (h *pgHost) startServer(ctx context.Context) error {
	if err := os.MkdirAll(h.sockDir, 0o700); err != nil {
		return err
	}
	if err := os.Chown(h.sockDir, int(h.uid), int(h.gid)); err != nil {
		return err
	}
	logf, err := os.OpenFile(h.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(h.p.BinDir, "postgres"), "-D", h.p.PGData, "-p", strconv.Itoa(h.p.Port),
		"-c", "listen_addresses=*", "-c", "unix_socket_directories="+h.sockDir)
	cmd.Env, cmd.Dir = h.env(), "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: h.uid, Gid: h.gid}}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: postgres: %v", ErrPGRun, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for {
		if _, err := h.value(ctx, "SELECT 1"); err == nil {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("%w: postgres exited at start (%v); see %s", ErrPGRun, err, h.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stopServer stops the server: fast (a clean shutdown checkpoint) and, if
// that does not finish in time, immediate.
func (h *pgHost) stopServer(ctx context.Context, grace time.Duration) error {
	if !h.running(ctx) {
		return nil
	}
	_, err := h.run(ctx, "", "pg_ctl", "stop", "-D", h.p.PGData, "-m", "fast", "-w", "-t", strconv.Itoa(max(1, int(grace.Seconds()))))
	if err != nil && h.running(ctx) {
		_, err = h.run(ctx, "", "pg_ctl", "stop", "-D", h.p.PGData, "-m", "immediate", "-w")
	}
	return err
}

// controlData reads fields of pgdata's control file with one
// pg_controldata run (e.g. "Database system identifier"), in order.
func (h *pgHost) controlData(ctx context.Context, fields ...string) ([]string, error) {
	out, err := h.run(ctx, "", "pg_controldata", "-D", h.p.PGData)
	if err != nil {
		return nil, err
	}
	have := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			have[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	vals := make([]string, len(fields))
	for i, f := range fields {
		v, ok := have[f]
		if !ok {
			return nil, fmt.Errorf("%w: pg_controldata shows no %q", ErrPGRun, f)
		}
		vals[i] = v
	}
	return vals, nil
}

// systemID reads the database system identifier from pgdata.
func (h *pgHost) systemID(ctx context.Context) (string, error) {
	v, err := h.controlData(ctx, "Database system identifier")
	if err != nil {
		return "", err
	}
	return v[0], nil
}
