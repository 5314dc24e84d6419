package compat

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Tools are the names the paceline binary answers to as a Pacemaker
// helper (the links InstallLinks makes).
var Tools = []string{"crm_node", "crm_attribute", "crm_master", "attrd_updater", "pacemakerd", "crm_resource"}

// IsTool reports whether name (a program's base name) is one of Tools.
func IsTool(name string) bool {
	for _, t := range Tools {
		if t == name {
			return true
		}
	}
	return false
}

// Exit statuses, Pacemaker's (crm_exit_t).
const (
	ExitOK         = 0
	ExitError      = 1   // CRM_EX_ERROR
	ExitPermission = 4   // CRM_EX_INSUFFICIENT_PRIV
	ExitUsage      = 64  // CRM_EX_USAGE
	ExitNoSuch     = 105 // CRM_EX_NOSUCH
)

// PacemakerVersion and FeatureSet are the Pacemaker release whose tools'
// behaviour this package reproduces (Debian 12's) and its CRM feature set.
const (
	PacemakerVersion = "2.1.5"
	FeatureSet       = "3.16.2"
)

// Env is the environment of one tool run: getenv reads the variables
// (PACELINE_COMPAT_SOCKET, OCF_RESOURCE_INSTANCE), Out and Err are stdout
// and stderr.
type Env struct {
	Getenv func(string) string
	Out    io.Writer
	Err    io.Writer
}

// run is one tool invocation in progress.
type run struct {
	tool string
	env  Env
	c    Client
}

// toolError is a failure with the exit status it maps to. Its message is
// printed as "TOOL: message" unless raw, which is printed as is.
type toolError struct {
	code int
	msg  string
	raw  bool
}

func (e *toolError) Error() string { return e.msg }

func usage(format string, args ...any) error {
	return &toolError{code: ExitUsage, msg: fmt.Sprintf(format, args...)}
}

// Main runs tool (one of Tools) with args (without the program name) and
// returns the exit status. It never panics on bad input.
func Main(tool string, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	sock := env.Getenv("PACELINE_COMPAT_SOCKET")
	if sock == "" {
		sock = DefaultSocket
	}
	r := &run{tool: tool, env: env, c: Client{Socket: sock}}
	var err error
	switch tool {
	case "crm_node":
		err = r.crmNode(args)
	case "crm_attribute":
		err = r.crmAttribute(args)
	case "crm_master":
		err = r.crmMaster(args)
	case "attrd_updater":
		err = r.attrdUpdater(args)
	case "pacemakerd":
		err = r.pacemakerd(args)
	case "crm_resource":
		err = r.crmResource(args)
	default:
		err = &toolError{code: ExitUsage, raw: true,
			msg: fmt.Sprintf("paceline compat: unknown tool %q (one of %s)", tool, strings.Join(Tools, ", "))}
	}
	if err == nil {
		return ExitOK
	}
	var te *toolError
	if !errors.As(err, &te) {
		te = &toolError{code: ExitError, msg: err.Error()}
	}
	if te.raw {
		fmt.Fprintln(env.Err, te.msg)
	} else {
		fmt.Fprintf(env.Err, "%s: %s\n", tool, oneLine(te.msg))
	}
	return te.code
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// version prints what --version prints.
func (r *run) version() error {
	_, err := fmt.Fprintf(r.env.Out, "Pacemaker %s (Paceline compatibility: %s)\n", PacemakerVersion, r.tool)
	return err
}

// info asks the endpoint for the local node and the members.
func (r *run) info() (Info, error) {
	res, err := r.c.Do(Request{Op: "info"})
	if err != nil {
		return Info{}, err
	}
	if res.Info == nil {
		return Info{}, errors.New("local paceline agent sent no node information")
	}
	return *res.Info, nil
}

// pacemakerd answers only --version: ocf_local_nodename runs
// "pacemakerd -$" and uses crm_node -n only for Pacemaker after 1.1.8.
func (r *run) pacemakerd(args []string) error {
	flags, err := getopt(args, []option{{short: '$', long: "version"}, {short: 'h', long: "help"}})
	if err != nil {
		return usage("%v", err)
	}
	for _, f := range flags {
		if f.key == "version" {
			return r.version()
		}
	}
	return usage("this is Paceline's stand-in for the Pacemaker daemon; it answers only --version")
}

// crmNode: -n (this node's name), -l (members: "ID NAME STATE"), -p
// (members of this partition on one line), -q (1 with quorum, else 0), -i
// (this node's id).
func (r *run) crmNode(args []string) error {
	flags, err := getopt(args, []option{
		{short: 'n', long: "name"}, {short: 'l', long: "list"}, {short: 'p', long: "partition"},
		{short: 'q', long: "quorum"}, {short: 'i', long: "cluster-id"}, {short: 'V', long: "verbose"},
		{short: '$', long: "version"}, {short: 'N', long: "name-for-id", arg: requiredArg},
	})
	if err != nil {
		return usage("%v", err)
	}
	cmd, id := "", ""
	for _, f := range flags {
		switch f.key {
		case "verbose":
		case "version":
			return r.version()
		default:
			cmd, id = f.key, f.value
		}
	}
	if cmd == "" {
		return usage("a command is required: -n, -l, -p, -q, -i or -N ID")
	}
	info, err := r.info()
	if err != nil {
		return err
	}
	out := r.env.Out
	switch cmd {
	case "name":
		fmt.Fprintln(out, info.Local)
	case "list":
		for _, m := range info.Members {
			state := "lost"
			if m.Online {
				state = "member"
			}
			fmt.Fprintf(out, "%d %s %s\n", m.ID, m.Name, state)
		}
	case "partition":
		var names []string
		for _, m := range info.Members {
			if m.Online {
				names = append(names, m.Name)
			}
		}
		fmt.Fprintln(out, strings.Join(names, " "))
	case "quorum":
		q := 0
		if info.Quorum {
			q = 1
		}
		fmt.Fprintln(out, q)
	case "cluster-id", "name-for-id":
		for _, m := range info.Members {
			switch {
			case cmd == "cluster-id" && m.Name == info.Local:
				fmt.Fprintln(out, m.ID)
				return nil
			case cmd == "name-for-id" && fmt.Sprint(m.ID) == id:
				fmt.Fprintln(out, m.Name)
				return nil
			}
		}
		if cmd == "name-for-id" {
			return &toolError{code: ExitNoSuch, msg: fmt.Sprintf("Could not find node with ID %s", id)}
		}
		return &toolError{code: ExitNoSuch, msg: fmt.Sprintf("node %s is not a member", info.Local)}
	}
	return nil
}

// attrOp is one crm_attribute operation after its options are resolved.
type attrOp struct {
	cmd      string // query, update, delete
	name     string
	value    string // update
	node     string
	lifetime string // reboot, forever or ""
	typ      string // -t as given
	quiet    bool
	def      string
	hasDef   bool
	// promotion: node defaults to the local one and lifetime to reboot.
	promotion bool
}

// set applies the options crm_attribute and crm_master share.
func (op *attrOp) set(f flag) {
	switch f.key {
	case "query", "delete":
		op.cmd = f.key
	case "update":
		op.cmd, op.value = "update", f.value
	case "node":
		op.node = f.value
	case "lifetime":
		op.lifetime = f.value
	case "quiet":
		op.quiet = true
	}
}

// crmAttribute: -n NAME with -G (default), -v VALUE or -D; -N NODE;
// -l reboot|forever; -t nodes|status|crm_config; -q; -d DEFAULT;
// -p [RSC] (the promotion score master-RSC).
func (r *run) crmAttribute(args []string) error {
	flags, err := getopt(args, []option{
		{short: 'n', long: "name", arg: requiredArg}, {long: "attr-name", arg: requiredArg, key: "name"},
		{short: 'G', long: "query"}, {long: "get-value", key: "query"},
		{short: 'v', long: "update", arg: requiredArg}, {long: "attr-value", arg: requiredArg, key: "update"},
		{short: 'D', long: "delete"}, {long: "delete-attr", key: "delete"},
		{short: 'N', long: "node", arg: requiredArg}, {short: 'U', long: "node-uname", arg: requiredArg, key: "node"},
		{short: 'l', long: "lifetime", arg: requiredArg}, {short: 't', long: "type", arg: requiredArg},
		{short: 'q', long: "quiet"}, {short: 'Q', key: "quiet"},
		{short: 'd', long: "default", arg: requiredArg},
		{short: 'p', long: "promotion", arg: optionalArg},
		{short: 'i', long: "id", arg: requiredArg}, {long: "attr-id", arg: requiredArg, key: "id"},
		{short: 's', long: "set-name", arg: requiredArg},
		{short: 'V', long: "verbose"}, {short: '!', long: "inhibit-policy-engine"},
		{short: 'z', long: "utilization"}, {short: '$', long: "version"},
	})
	if err != nil {
		return usage("%v", err)
	}
	op := attrOp{cmd: "query"}
	for _, f := range flags {
		switch f.key {
		case "version":
			return r.version()
		case "name":
			op.name = f.value
		case "query", "delete", "update", "node", "lifetime", "quiet":
			op.set(f)
		case "type":
			op.typ = f.value
		case "default":
			op.def, op.hasDef = f.value, true
		case "promotion":
			rsc := f.value
			if !f.given {
				rsc = r.env.Getenv("OCF_RESOURCE_INSTANCE")
			}
			if rsc == "" {
				return usage("Resource must be specified via --promotion or OCF_RESOURCE_INSTANCE")
			}
			op.promotion, op.name = true, PromotionName(rsc)
		case "utilization":
			return usage("utilization attributes are not supported by Paceline")
		case "id", "set-name", "verbose", "inhibit-policy-engine":
			// Accepted and ignored: Paceline has no nvpair ids or sets.
		}
	}
	return r.attribute(op)
}

// crmMaster is Pacemaker's deprecated crm_master script: crm_attribute on
// master-RESOURCE (OCF_RESOURCE_INSTANCE or -r) with lifetime forever
// unless -l says otherwise.
func (r *run) crmMaster(args []string) error {
	flags, err := getopt(args, []option{
		{short: 'V', long: "verbose"}, {short: 'q', long: "quiet"}, {short: 'Q', long: "get-value", key: "query"},
		{short: 'G', long: "query"}, {short: 'v', long: "update", arg: requiredArg},
		{long: "attr-value", arg: requiredArg, key: "update"},
		{short: 'D', long: "delete"}, {long: "delete-attr", key: "delete"},
		{short: 'N', long: "node", arg: requiredArg}, {short: 'U', long: "uname", arg: requiredArg, key: "node"},
		{short: 'l', long: "lifetime", arg: requiredArg}, {short: 'i', long: "id", arg: requiredArg},
		{long: "attr-id", arg: requiredArg, key: "id"},
		{short: 'r', long: "resource", arg: requiredArg}, {long: "help"}, {long: "version"},
	})
	const usageText = "\nUsage: crm_master <command> [<options>]\n\nThis command is deprecated. Use crm_attribute with the --promotion option\ninstead."
	if err != nil {
		return &toolError{code: ExitError, raw: true, msg: "error: " + err.Error() + "\n" + usageText}
	}
	op := attrOp{cmd: "query", lifetime: "forever"}
	rsc := r.env.Getenv("OCF_RESOURCE_INSTANCE")
	for _, f := range flags {
		switch f.key {
		case "help":
			_, err := fmt.Fprintln(r.env.Out, "crm_master - Query, update, or delete a resource's promotion score\n"+usageText)
			return err
		case "version":
			return r.version()
		case "query", "delete", "update", "node", "lifetime", "quiet":
			op.set(f)
		case "resource":
			rsc = f.value
		}
	}
	if rsc == "" {
		return &toolError{code: ExitError, raw: true, msg: "error: No resource specified\n" + usageText}
	}
	op.name = PromotionName(rsc)
	return r.attribute(op)
}

// cloneSuffix is the instance number Pacemaker appends to a clone's
// children (rsc:0).
var cloneSuffix = regexp.MustCompile(`:[0-9]+$`)

// PromotionName is the node attribute holding resource rsc's promotion
// score: master-RSC, without a clone instance suffix.
func PromotionName(rsc string) string {
	return "master-" + cloneSuffix.ReplaceAllString(rsc, "")
}

// scope resolves crm_attribute's -t and -l into where the attribute lives.
func (op *attrOp) scope() (Scope, error) {
	t := op.typ
	if t == "" {
		switch op.lifetime {
		case "reboot":
			t = string(ScopeStatus)
		case "forever":
			t = string(ScopeNodes)
		case "":
		default:
			return "", usage("invalid lifetime %q (reboot or forever)", op.lifetime)
		}
	}
	switch {
	case t == "" && op.promotion:
		return ScopeStatus, nil
	case t == "" && op.node != "":
		return ScopeNodes, nil
	case t == "":
		return ScopeConfig, nil
	case Scope(t).Valid():
		return Scope(t), nil
	}
	return "", usage("type %q is not supported by Paceline (nodes, status or crm_config)", t)
}

// attribute performs a resolved crm_attribute operation.
func (r *run) attribute(op attrOp) error {
	scope, err := op.scope()
	if err != nil {
		return err
	}
	if op.name == "" {
		return usage("Error: must specify attribute name or pattern to operate on")
	}
	node := ""
	if scope != ScopeConfig {
		node = op.node
		if node == "" {
			info, err := r.info()
			if err != nil {
				return err
			}
			node = info.Local
		}
	} else if op.node != "" {
		return usage("a cluster option (type crm_config) takes no --node")
	}
	req := Request{Scope: scope, Node: node, Name: op.name}
	switch op.cmd {
	case "update":
		req.Op, req.Value = "set", op.value
		_, err = r.c.Do(req)
		return r.attrErr(err, req)
	case "delete":
		req.Op = "delete"
		_, err = r.c.Do(req)
		return r.attrErr(err, req)
	}
	req.Op = "get"
	res, err := r.c.Do(req)
	value := res.Value
	if errors.Is(err, ErrNotFound) && op.hasDef {
		value, err = op.def, nil
	}
	if err != nil {
		return r.attrErr(err, req)
	}
	if op.quiet {
		_, err = fmt.Fprintln(r.env.Out, value)
	} else {
		_, err = fmt.Fprintf(r.env.Out, "scope=%s  name=%s value=%s\n", scope, op.name, value)
	}
	return err
}

// attrErr turns the endpoint's error for req into Pacemaker's message and
// status.
func (r *run) attrErr(err error, req Request) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoNode):
		return &toolError{code: ExitNoSuch, msg: fmt.Sprintf("Could not map name=%s to a UUID", req.Node)}
	case errors.Is(err, ErrNotFound):
		return &toolError{code: ExitNoSuch, msg: "Error performing operation: No such device or address"}
	case errors.Is(err, ErrPermission) && req.Scope == ScopeConfig:
		verb, arg := "setting", req.Name+"="+req.Value
		if req.Op == "delete" {
			verb, arg = "deleting", req.Name+"="
		}
		return &toolError{code: ExitPermission,
			msg: fmt.Sprintf("%s cluster option %s needs admin: use `paceline property set %s` with an admin token", verb, req.Name, arg)}
	case errors.Is(err, ErrPermission):
		return &toolError{code: ExitPermission, msg: "Error performing operation: " + err.Error()}
	}
	return &toolError{code: ExitError, msg: "Error performing operation: " + err.Error()}
}

// attrdUpdater: -n NAME with -U VALUE (or -B VALUE), -Q (with -A: every
// node), -D; -N NODE; -p (a private attribute: ScopePrivate); -d, -l
// reboot, -R, -Y accepted (Paceline writes through the replicated store at
// once).
func (r *run) attrdUpdater(args []string) error {
	flags, err := getopt(args, []option{
		{short: 'n', long: "name", arg: requiredArg}, {short: 'U', long: "update", arg: requiredArg},
		{short: 'B', long: "update-both", arg: requiredArg, key: "update"}, {short: 'Y', long: "update-delay"},
		{short: 'Q', long: "query"}, {short: 'D', long: "delete"}, {short: 'R', long: "refresh"},
		{short: 'N', long: "node", arg: requiredArg}, {short: 'A', long: "all"},
		{short: 'd', long: "delay", arg: requiredArg}, {short: 'p', long: "private"},
		{short: 'l', long: "lifetime", arg: requiredArg}, {short: 's', long: "set", arg: requiredArg},
		{short: 'q', long: "quiet"}, {short: 'V', long: "verbose"}, {short: '$', long: "version"},
	})
	if err != nil {
		return usage("%v", err)
	}
	var cmd, name, value, node string
	all := false
	scope := ScopeStatus
	for _, f := range flags {
		switch f.key {
		case "version":
			return r.version()
		case "private":
			scope = ScopePrivate
		case "name":
			name = f.value
		case "update":
			cmd, value = "update", f.value
		case "query", "delete", "refresh", "update-delay":
			cmd = f.key
		case "node":
			node = f.value
		case "all":
			all = true
		case "lifetime":
			if f.value != "reboot" {
				return usage("only -l reboot is supported: attrd_updater sets transient attributes")
			}
		}
	}
	switch {
	case cmd == "":
		return usage("Command must be specified (-U, -B, -Y, -Q, -D or -R)")
	case cmd == "refresh":
		return nil // every attribute is already in the store
	case name == "":
		return usage("Attribute name (-n) must be specified")
	case cmd == "update-delay":
		return nil // no dampening: writes are immediate
	}
	info, err := r.info()
	if err != nil {
		return err
	}
	if node == "" {
		node = info.Local
	}
	req := Request{Scope: scope, Node: node, Name: name}
	switch cmd {
	case "update":
		req.Op, req.Value = "set", value
		_, err = r.c.Do(req)
		return r.attrdErr(err, name, node)
	case "delete":
		req.Op = "delete"
		_, err = r.c.Do(req)
		return r.attrdErr(err, name, node)
	}
	nodes := []string{node}
	if all {
		nodes = nodes[:0]
		for _, m := range info.Members {
			nodes = append(nodes, m.Name)
		}
	}
	found := false
	for _, n := range nodes {
		req.Node, req.Op = n, "get"
		res, err := r.c.Do(req)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return r.attrdErr(err, name, n)
		}
		found = true
		fmt.Fprintf(r.env.Out, "name=\"%s\" host=\"%s\" value=\"%s\"\n", name, n, res.Value)
	}
	if !found {
		return &toolError{code: ExitNoSuch, msg: fmt.Sprintf("Could not query value of %s: attribute does not exist", name)}
	}
	return nil
}

func (r *run) attrdErr(err error, name, node string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoNode):
		return &toolError{code: ExitNoSuch, msg: fmt.Sprintf("Could not update %s on %s: no such node", name, node)}
	case errors.Is(err, ErrPermission):
		return &toolError{code: ExitPermission, msg: fmt.Sprintf("Could not update %s: %v", name, err)}
	}
	return &toolError{code: ExitError, msg: fmt.Sprintf("Could not update %s: %v", name, err)}
}

// crmResource answers the one query agents make of crm_resource:
// -r RSC --meta -g NAME prints RSC's meta-attribute NAME (its own or the
// one it inherits from its group or clone, as Pacemaker resolves it) alone
// on a line; exit 105 when it is not set. PAF's pgsqlms asks it whether
// its clone has notify=true. Anything else is a usage error.
func (r *run) crmResource(args []string) error {
	flags, err := getopt(args, []option{
		{short: 'r', long: "resource", arg: requiredArg}, {short: 'm', long: "meta"},
		{short: 'g', long: "get-parameter", arg: requiredArg}, {short: 'q', long: "quiet"},
		{short: 'Q', long: "quiet-output", key: "quiet"}, {short: 'V', long: "verbose"}, {short: '$', long: "version"},
	})
	if err != nil {
		return usage("%v", err)
	}
	var rsc, name string
	meta := false
	for _, f := range flags {
		switch f.key {
		case "version":
			return r.version()
		case "resource":
			rsc = f.value
		case "meta":
			meta = true
		case "get-parameter":
			name = f.value
		}
	}
	switch {
	case name == "" || !meta:
		return usage("only --resource RSC --meta --get-parameter NAME is supported (a resource's meta-attribute)")
	case rsc == "":
		return usage("Must supply a resource id with -r")
	}
	res, err := r.c.Do(Request{Op: "get", Scope: ScopeMeta, Node: cloneSuffix.ReplaceAllString(rsc, ""), Name: name})
	switch {
	case errors.Is(err, ErrNotFound):
		return &toolError{code: ExitNoSuch, msg: fmt.Sprintf("Attribute '%s' not found for '%s'", name, rsc)}
	case errors.Is(err, ErrNoNode):
		return &toolError{code: ExitNoSuch, msg: fmt.Sprintf("Resource '%s' not found", rsc)}
	case err != nil:
		return err
	}
	_, err = fmt.Fprintln(r.env.Out, res.Value)
	return err
}
