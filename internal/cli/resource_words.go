package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
)

// resourceWords are the pcs-style words after "resource create ID AGENT"
// and "resource update ID": instance parameters key=value, then any number
// of groups "--meta key=value ...", "--op NAME key=value ...", and (create
// only) "--group GROUP [--before ID|--after ID]", "--clone [key=value ...]"
// or "--promotable [key=value ...]" (the clone's meta-attributes).
type resourceWords struct {
	params []api.NV
	meta   map[string]string
	ops    []api.OpSpec
	// secretFiles are "--secret-file NAME=PATH" words: secret parameters
	// whose values are read from PATH ("-": standard input) by
	// readSecretFiles, so that they never appear on a command line.
	secretFiles []api.NV
	// group, before and after place a new primitive in a group.
	group, before, after string
	// clone is set by --clone or --promotable.
	clone *api.CloneSpec
	// force skips the check against the agent's meta-data.
	force bool
}

// placement reports the first placement word given ("" for none): update
// refuses them.
func (rw *resourceWords) placement() string {
	switch {
	case rw.group != "":
		return "--group"
	case rw.before != "":
		return "--before"
	case rw.after != "":
		return "--after"
	case rw.clone != nil && rw.clone.Promotable:
		return "--promotable"
	case rw.clone != nil:
		return "--clone"
	}
	return ""
}

// parseResourceWords reads the words; every mistake is a usage error.
func parseResourceWords(words []string) (resourceWords, error) {
	var rw resourceWords
	mode := "param"
	for i := 0; i < len(words); i++ {
		w := words[i]
		flag, inline, hasInline := strings.Cut(w, "=")
		switch flag {
		case "--group", "--before", "--after":
			v := inline
			if !hasInline {
				if i+1 >= len(words) || strings.HasPrefix(words[i+1], "-") || strings.Contains(words[i+1], "=") {
					return rw, usagef("%s wants a resource id", flag)
				}
				i++
				v = words[i]
			}
			if err := checkID(flag[2:]+" id", v); err != nil {
				return rw, err
			}
			switch flag {
			case "--group":
				rw.group = v
			case "--before":
				rw.before = v
			default:
				rw.after = v
			}
			mode = "none"
			continue
		case "--clone", "--promotable":
			if hasInline {
				return rw, usagef("%s takes the clone's meta-attributes as separate key=value words: %s key=value ...", flag, flag)
			}
			if rw.clone != nil {
				return rw, usagef("--clone and --promotable are given more than once")
			}
			rw.clone = &api.CloneSpec{Promotable: flag == "--promotable"}
			mode = "clone"
			continue
		}
		switch w {
		case "--meta", "meta":
			mode = "meta"
			continue
		case "--op", "op":
			if i+1 >= len(words) || strings.Contains(words[i+1], "=") || strings.HasPrefix(words[i+1], "-") {
				return rw, usagef("%s wants an operation name (monitor, start, stop, ...) before its key=value words", w)
			}
			i++
			rw.ops = append(rw.ops, api.OpSpec{Name: words[i]})
			mode = "op"
			continue
		}
		if w == "--force" {
			rw.force = true
			continue
		}
		if w == "--secret-file" {
			if i+1 >= len(words) || !strings.Contains(words[i+1], "=") {
				return rw, usagef("--secret-file wants NAME=PATH (PATH - reads standard input)")
			}
			i++
			k, v, err := parseKV(words[i])
			if err != nil {
				return rw, err
			}
			rw.secretFiles = append(rw.secretFiles, api.NV{Name: k, Value: v})
			continue
		}
		if strings.HasPrefix(w, "-") {
			return rw, usagef("unknown flag %s (want --meta, --op, --group, --before, --after, --clone, --promotable, --secret-file or --force)", flag)
		}
		k, v, err := parseKV(w)
		if err != nil {
			return rw, err
		}
		switch mode {
		case "param":
			rw.params = setNV(rw.params, k, v)
		case "meta":
			if rw.meta == nil {
				rw.meta = map[string]string{}
			}
			rw.meta[k] = v
		case "op":
			if err := setOpAttr(&rw.ops[len(rw.ops)-1], k, v); err != nil {
				return rw, err
			}
		case "clone":
			if rw.clone.Meta == nil {
				rw.clone.Meta = map[string]string{}
			}
			rw.clone.Meta[k] = v
		default:
			return rw, usagef("%s after --group, --before or --after: put instance parameters before them, or start --meta or --op", w)
		}
	}
	switch {
	case rw.group != "" && rw.clone != nil:
		return rw, usagef("--group and --clone/--promotable cannot be combined (make the group, then clone it)")
	case rw.before != "" && rw.after != "":
		return rw, usagef("--before and --after cannot be combined")
	case (rw.before != "" || rw.after != "") && rw.group == "":
		return rw, usagef("--before and --after want --group GROUP")
	}
	return rw, nil
}

// readSecretFiles reads the values of rw.secretFiles (one trailing
// newline dropped; "-" is stdin) into secret parameters.
func (rw *resourceWords) readSecretFiles(stdin io.Reader) error {
	for _, sf := range rw.secretFiles {
		var b []byte
		var err error
		if sf.Value == "-" {
			b, err = io.ReadAll(io.LimitReader(stdin, 1<<16))
		} else {
			b, err = os.ReadFile(sf.Value)
		}
		if err != nil {
			return usagef("secret parameter %s: %v", sf.Name, err)
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		rw.params = setNV(rw.params, sf.Name, v)
		for i := range rw.params {
			if rw.params[i].Name == sf.Name {
				rw.params[i].Secret = true
			}
		}
	}
	return nil
}

// setNV sets name in an ordered list (replacing an earlier value).
func setNV(nvs []api.NV, name, value string) []api.NV {
	for i := range nvs {
		if nvs[i].Name == name {
			nvs[i].Value = value
			return nvs
		}
	}
	return append(nvs, api.NV{Name: name, Value: value})
}

// setOpAttr sets one key=value of an --op group. Durations may be Go
// durations ("5s", "1m30s") or, as in pcs, plain seconds ("5").
func setOpAttr(op *api.OpSpec, k, v string) error {
	switch k {
	case "interval", "timeout":
		if n, err := strconv.Atoi(v); err == nil {
			v = strconv.Itoa(n) + "s"
		}
		if d, err := time.ParseDuration(v); err != nil || d < 0 {
			return usagef("--op %s %s=%s: want a duration such as 5s or 1m", op.Name, k, v)
		}
		if k == "interval" {
			op.Interval = v
		} else {
			op.Timeout = v
		}
	case "role":
		role, ok := model.CanonicalRole(v)
		if !ok {
			return usagef("--op %s role=%s: want Started, Stopped, Promoted or Unpromoted (Master and Slave also do)", op.Name, v)
		}
		op.Role = role
	case "on-fail", "on_fail":
		op.OnFail = v
	default:
		if op.Meta == nil {
			op.Meta = map[string]string{}
		}
		op.Meta[k] = v
	}
	return nil
}

// checkID refuses an id that is really a flag or a key=value word.
func checkID(what, id string) error {
	if id == "" || strings.HasPrefix(id, "-") || strings.Contains(id, "=") {
		return usagef("bad %s %q", what, id)
	}
	return nil
}

// editResource changes one resource (at any depth: a group member, a
// clone's child) with fn through editConfig. A missing resource is
// "resource 'ID' not found".
func editResource(ctx context.Context, c *api.Client, what, id string, fn func(*api.Resource) error) error {
	return editConfig(ctx, c, what, func(cfg *api.Config) error {
		r := findResource(cfg.Resources, id)
		if r == nil {
			return fmt.Errorf("resource %s not found", quote(id))
		}
		return fn(r)
	})
}

// editConfig changes the configuration with fn and applies it
// compare-and-set on the epoch it read (api.Client.EditConfig, which the
// web UI uses too). fn's errors are returned as they are.
func editConfig(ctx context.Context, c *api.Client, what string, fn func(*api.Config) error) error {
	var fnErr error
	err := c.EditConfig(ctx, func(cfg *api.Config) error {
		fnErr = fn(cfg)
		return fnErr
	})
	if err != nil && fnErr == nil {
		return failure(what, "", err)
	}
	return err
}

// findResource returns the resource with that id at any depth, or nil.
func findResource(rs []api.Resource, id string) *api.Resource { return model.FindResource(rs, id) }

// opsFromSpecs converts --op groups to model operations.
func opsFromSpecs(id string, specs []api.OpSpec) ([]api.Op, error) {
	req := api.ResourceRequest{ID: id, Agent: "x:y", Ops: specs}
	p, err := req.Primitive()
	if err != nil {
		return nil, usagef("%v", err)
	}
	return p.Ops, nil
}
