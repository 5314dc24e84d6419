package fence

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// HostCheck is how a device decides which targets it can fence
// (pcmk_host_check).
type HostCheck int

// The host checks.
const (
	// CheckStaticList: the targets are pcmk_host_list and pcmk_host_map.
	CheckStaticList HostCheck = iota
	// CheckDynamicList: the targets are what the agent's list action
	// prints.
	CheckDynamicList
	// CheckStatus: a target is one the agent's status action knows (exit
	// 0 on or 2 off).
	CheckStatus
	// CheckNone: the device can fence every target.
	CheckNone
)

var hostCheckNames = []string{"static-list", "dynamic-list", "status", "none"}

// String returns the pcmk_host_check value.
func (h HostCheck) String() string {
	if int(h) < len(hostCheckNames) {
		return hostCheckNames[h]
	}
	return fmt.Sprintf("HostCheck(%d)", int(h))
}

// Device is a fence device as the fencer uses it: its agent, the
// parameters the agent gets, and Pacemaker's pcmk_* attributes parsed.
type Device struct {
	// ID is the device's resource ID.
	ID string
	// Unusable says why the fencer's node may not run the device
	// (TopologyFor, Usable); "" when it may.
	Unusable string
	// Agent is the fence agent's name (fence_ipmilan).
	Agent string
	// Params are the agent's parameters, pcmk_* attributes removed.
	// Secret ones (passwords) are here in clear: the device's owner must
	// not log them.
	Params map[string]string
	// HostList are the targets of pcmk_host_list.
	HostList []string
	// HostMap maps targets to the port the agent gets (pcmk_host_map).
	HostMap map[string]string
	// HostCheck is pcmk_host_check, or its default (DefaultHostCheck).
	HostCheck HostCheck
	// hostCheckSet records whether HostCheck was configured.
	hostCheckSet bool
	// HostArgument is the agent parameter the target's port goes in
	// (pcmk_host_argument); "" until resolved from the meta-data
	// (port, else plug, else none); "none": no parameter.
	HostArgument string
	// DelayBase is the fixed delay before the device fences a target
	// (pcmk_delay_base); DelayBaseFor overrides it per target.
	DelayBase    time.Duration
	DelayBaseFor map[string]time.Duration
	// DelayMax bounds the random delay (pcmk_delay_max); zero: none.
	DelayMax time.Duration
	// Actions maps an action the cluster asks for (reboot, off, on,
	// list, status, monitor) to the agent's action name
	// (pcmk_<action>_action); absent: the same name.
	Actions map[string]string
	// Timeouts per action (pcmk_<action>_timeout); absent: the
	// cluster's stonith-timeout.
	Timeouts map[string]time.Duration
	// Retries per action (pcmk_<action>_retries); absent:
	// DefaultRetries.
	Retries map[string]int
}

// String names the device and its agent, never its parameters (they hold
// passwords), so a device printed with %v or %+v leaks nothing.
func (d *Device) String() string { return d.ID + " (" + d.Agent + ")" }

// GoString is String, for %#v.
func (d *Device) GoString() string { return d.String() }

// DefaultRetries is Pacemaker's pcmk_<action>_retries default: an action
// that fails is tried again twice while its timeout allows.
const DefaultRetries = 2

// deviceActions are the actions that take pcmk_<action>_action, _timeout
// and _retries.
var deviceActions = []string{"reboot", "off", "on", "list", "status", "monitor"}

// Errors of ParseDevice.
var (
	ErrNoAgent       = errors.New("fence: device has no agent")
	ErrBadAttribute  = errors.New("fence: bad device attribute")
	ErrUnknownTarget = errors.New("fence: target is not a node")
)

// ParseDevice reads a fence device from its resource ID, agent name and
// instance parameters (agent parameters and pcmk_* attributes together).
// It reports every bad attribute at once, each naming the device and the
// attribute.
func ParseDevice(id, agent string, params map[string]string) (*Device, error) {
	d := &Device{ID: id, Agent: agent, Params: map[string]string{}, HostMap: map[string]string{},
		DelayBaseFor: map[string]time.Duration{}, Actions: map[string]string{},
		Timeouts: map[string]time.Duration{}, Retries: map[string]int{}}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: device %s: %s: %s", ErrBadAttribute, id, name, fmt.Sprintf(format, args...)))
	}
	if agent == "" {
		errs = append(errs, fmt.Errorf("%w: device %s", ErrNoAgent, id))
	}
	for k, v := range params {
		if !strings.HasPrefix(k, "pcmk_") {
			d.Params[k] = v
		}
	}
	d.HostList = splitList(params["pcmk_host_list"])
	if m, ok := params["pcmk_host_map"]; ok {
		hm, err := parseHostMap(m)
		if err != nil {
			bad("pcmk_host_map", "%v", err)
		}
		d.HostMap = hm
	}
	if v, ok := params["pcmk_host_check"]; ok && v != "" {
		i := indexOf(hostCheckNames, v)
		if i < 0 {
			bad("pcmk_host_check", "%q is not one of %s", v, strings.Join(hostCheckNames, ", "))
		} else {
			d.HostCheck, d.hostCheckSet = HostCheck(i), true
		}
	}
	d.HostArgument = params["pcmk_host_argument"]
	if v, ok := params["pcmk_delay_max"]; ok {
		if dur, ok := model.ParseTimeSpec(v); ok {
			d.DelayMax = dur
		} else {
			bad("pcmk_delay_max", "%q is not a duration", v)
		}
	}
	if v, ok := params["pcmk_delay_base"]; ok {
		if err := d.parseDelayBase(v); err != nil {
			bad("pcmk_delay_base", "%v", err)
		}
	}
	for _, a := range deviceActions {
		if v, ok := params["pcmk_"+a+"_action"]; ok && v != "" {
			d.Actions[a] = v
		}
		if v, ok := params["pcmk_"+a+"_timeout"]; ok {
			if dur, ok := model.ParseTimeSpec(v); ok && dur > 0 {
				d.Timeouts[a] = dur
			} else {
				bad("pcmk_"+a+"_timeout", "%q is not a positive duration", v)
			}
		}
		if v, ok := params["pcmk_"+a+"_retries"]; ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				d.Retries[a] = n
			} else {
				bad("pcmk_"+a+"_retries", "%q is not a count", v)
			}
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return d, errors.Join(errs...)
}

// parseDelayBase reads pcmk_delay_base: one duration for every target, or
// "node1:5s;node2:0" per target.
func (d *Device) parseDelayBase(v string) error {
	if !strings.ContainsAny(v, ":=") {
		dur, ok := model.ParseTimeSpec(v)
		if !ok {
			return fmt.Errorf("%q is not a duration", v)
		}
		d.DelayBase = dur
		return nil
	}
	m, err := parseHostMap(v)
	if err != nil {
		return err
	}
	for node, s := range m {
		dur, ok := model.ParseTimeSpec(s)
		if !ok {
			return fmt.Errorf("%q (for %s) is not a duration", s, node)
		}
		d.DelayBaseFor[node] = dur
	}
	return nil
}

// splitList splits a pcmk_host_list: names separated by spaces, commas
// or semicolons.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == ',' || r == ';' || r == '\t' || r == '\n'
	})
}

// parseHostMap reads "node1:port1;node2:2,3": entries separated by ';' or
// white space, each a target and its port separated by ':' or '='. The
// port may hold commas (several plugs for one target).
func parseHostMap(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, entry := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' || r == '\n' }) {
		i := strings.IndexAny(entry, ":=")
		if i <= 0 || i == len(entry)-1 {
			return nil, fmt.Errorf("entry %q is not NODE:PORT", entry)
		}
		m[entry[:i]] = entry[i+1:]
	}
	return m, nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// ResolveHostCheck returns the device's host check: the configured one,
// else Pacemaker's default: static-list when pcmk_host_list or
// pcmk_host_map is set, else dynamic-list when the agent supports list,
// else status when it supports status, else none.
func (d *Device) ResolveHostCheck(supports func(action string) bool) HostCheck {
	switch {
	case d.hostCheckSet:
		return d.HostCheck
	case len(d.HostList) > 0 || len(d.HostMap) > 0:
		return CheckStaticList
	case supports("list"):
		return CheckDynamicList
	case supports("status"):
		return CheckStatus
	}
	return CheckNone
}

// ResolveHostArgument returns the agent parameter that carries the target:
// pcmk_host_argument when set, else "port" when the agent accepts it,
// else "plug", else "none" (Pacemaker's default).
func (d *Device) ResolveHostArgument(accepts func(param string) bool) string {
	switch {
	case d.HostArgument != "":
		return d.HostArgument
	case accepts("port"):
		return "port"
	case accepts("plug"):
		return "plug"
	}
	return "none"
}

// Port returns the port the agent gets for target: its pcmk_host_map
// entry, else the target's name.
func (d *Device) Port(target string) string {
	if p, ok := d.HostMap[target]; ok {
		return p
	}
	return target
}

// InStaticList reports whether target is in pcmk_host_list or
// pcmk_host_map.
func (d *Device) InStaticList(target string) bool {
	if _, ok := d.HostMap[target]; ok {
		return true
	}
	return indexOf(d.HostList, target) >= 0
}

// AgentAction returns the agent's action for the cluster's action
// (pcmk_<action>_action).
func (d *Device) AgentAction(action string) string {
	if a, ok := d.Actions[action]; ok {
		return a
	}
	return action
}

// Timeout returns the timeout of action: pcmk_<action>_timeout, else def
// (the cluster's stonith-timeout).
func (d *Device) Timeout(action string, def time.Duration) time.Duration {
	if t, ok := d.Timeouts[action]; ok {
		return t
	}
	return def
}

// RetriesFor returns how often a failed action is tried again
// (pcmk_<action>_retries, default DefaultRetries).
func (d *Device) RetriesFor(action string) int {
	if n, ok := d.Retries[action]; ok {
		return n
	}
	return DefaultRetries
}

// Delay returns the delay before the device fences target: the base
// (per-target or general), plus, when pcmk_delay_max exceeds it, a random
// part so the sum stays below the maximum. r is a random number in
// [0, 1): the randomness is an input.
func (d *Device) Delay(target string, r float64) time.Duration {
	base := d.DelayBase
	if b, ok := d.DelayBaseFor[target]; ok {
		base = b
	}
	if d.DelayMax > base {
		return base + time.Duration(r*float64(d.DelayMax-base))
	}
	return base
}

// ConfiguredHostCheck returns pcmk_host_check as configured, and whether
// it was (without it the check is decided from the agent's meta-data:
// ResolveHostCheck).
func (d *Device) ConfiguredHostCheck() (HostCheck, bool) { return d.HostCheck, d.hostCheckSet }
