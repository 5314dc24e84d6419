package compat

import (
	"fmt"
	"strings"
)

// argKind says whether an option takes a value.
type argKind int

const (
	noArg       argKind = iota
	requiredArg         // -n NAME, -nNAME, --name NAME, --name=NAME
	// optionalArg takes an attached value (-pRSC, --promotion=RSC) or the
	// next word when it does not start with '-', as GLib's option parser
	// does for Pacemaker 2's optional arguments.
	optionalArg
)

// option is one option of a tool. key identifies it in the result (the
// long name of the option it aliases, for legacy spellings).
type option struct {
	short byte
	long  string
	arg   argKind
	key   string
}

// flag is one option found on the command line, in order.
type flag struct {
	key   string
	value string
	given bool // a value was given (optionalArg)
}

// getopt parses args as GNU getopt_long does with the options of one tool:
// clustered short options, attached or separate values, "--" ending the
// options. Words that are not options are an error (the tools take none).
func getopt(args []string, opts []option) ([]flag, error) {
	var out []flag
	key := func(o option) string {
		if o.key != "" {
			return o.key
		}
		return o.long
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return nil, fmt.Errorf("unexpected argument %q", args[i+1])
			}
			return out, nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			o, ok := findLong(opts, name)
			if !ok {
				return nil, fmt.Errorf("unknown option --%s", name)
			}
			switch o.arg {
			case noArg:
				if hasVal {
					return nil, fmt.Errorf("option --%s takes no value", name)
				}
				out = append(out, flag{key: key(o)})
			case requiredArg:
				if !hasVal {
					if i+1 >= len(args) {
						return nil, fmt.Errorf("option --%s needs a value", name)
					}
					i++
					val = args[i]
				}
				out = append(out, flag{key: key(o), value: val, given: true})
			case optionalArg:
				if !hasVal && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
					i++
					val, hasVal = args[i], true
				}
				out = append(out, flag{key: key(o), value: val, given: hasVal})
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				o, ok := findShort(opts, a[j])
				if !ok {
					return nil, fmt.Errorf("unknown option -%c", a[j])
				}
				if o.arg == noArg {
					out = append(out, flag{key: key(o)})
					continue
				}
				val, hasVal := a[j+1:], j+1 < len(a)
				if !hasVal {
					next := i+1 < len(args)
					if o.arg == requiredArg && !next {
						return nil, fmt.Errorf("option -%c needs a value", a[j])
					}
					if next && (o.arg == requiredArg || !strings.HasPrefix(args[i+1], "-")) {
						i++
						val, hasVal = args[i], true
					}
				}
				out = append(out, flag{key: key(o), value: val, given: hasVal})
				break
			}
		default:
			return nil, fmt.Errorf("unexpected argument %q", a)
		}
	}
	return out, nil
}

func findLong(opts []option, name string) (option, bool) {
	for _, o := range opts {
		if o.long == name {
			return o, true
		}
	}
	return option{}, false
}

func findShort(opts []option, c byte) (option, bool) {
	for _, o := range opts {
		if o.short == c && c != 0 {
			return o, true
		}
	}
	return option{}, false
}
