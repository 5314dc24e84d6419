package model

import (
	"errors"
	"fmt"
	"strconv"
)

// SecretMask stands for a secret parameter's value wherever the
// configuration is shown. Written back unchanged (an exported, edited and
// re-applied configuration), it means "keep the stored value".
const SecretMask = "*****"

// ErrMaskedSecret is wrapped by KeepSecrets for a secret parameter that
// carries SecretMask but has no stored value to keep.
var ErrMaskedSecret = errors.New("masked secret without a stored value")

// MaskSecrets replaces the value of every secret instance parameter (in
// Params and RuleParams, at every level of every resource) with
// SecretMask.
func (c *Config) MaskSecrets() {
	for i := range c.Resources {
		c.Resources[i].MaskSecrets()
	}
}

// MaskSecrets does Config.MaskSecrets for r and its children.
func (r *Resource) MaskSecrets() {
	r.eachParam(func(_ string, nv *NV) {
		if nv.Secret {
			nv.Value = SecretMask
		}
	})
	for i := range r.Children {
		r.Children[i].MaskSecrets()
	}
}

// SecretValues returns the values of every secret parameter of c (for
// scrubbing them from collected logs), without empty ones or repeats.
func (c *Config) SecretValues() []string {
	var out []string
	seen := map[string]bool{}
	for i := range c.Resources {
		c.Resources[i].walk(func(r *Resource) {
			r.eachParam(func(_ string, nv *NV) {
				if nv.Secret && nv.Value != "" && nv.Value != SecretMask && !seen[nv.Value] {
					seen[nv.Value] = true
					out = append(out, nv.Value)
				}
			})
		})
	}
	return out
}

// HasSecrets reports whether any resource of c has a secret parameter.
func (c *Config) HasSecrets() bool {
	found := false
	for i := range c.Resources {
		c.Resources[i].walk(func(r *Resource) {
			r.eachParam(func(_ string, nv *NV) { found = found || nv.Secret })
		})
	}
	return found
}

// KeepSecrets gives every secret parameter of c whose value is SecretMask
// the value the same parameter (same resource id, same set, same name)
// has in cur, which may be nil. The error joins one ErrMaskedSecret per
// parameter with nothing to keep.
func (c *Config) KeepSecrets(cur *Config) error {
	old := map[string]*Resource{}
	if cur != nil {
		for i := range cur.Resources {
			cur.Resources[i].walk(func(r *Resource) { old[r.ID] = r })
		}
	}
	var errs []error
	for i := range c.Resources {
		c.Resources[i].walk(func(r *Resource) {
			errs = append(errs, r.keepSecrets(old[r.ID]))
		})
	}
	return errors.Join(errs...)
}

// KeepSecrets does Config.KeepSecrets for the parameters of r alone
// (not its children), keeping values from cur (which may be nil).
func (r *Resource) KeepSecrets(cur *Resource) error { return r.keepSecrets(cur) }

func (r *Resource) keepSecrets(cur *Resource) error {
	stored := map[string]string{}
	if cur != nil {
		cur.eachParam(func(key string, nv *NV) {
			if nv.Secret {
				stored[key] = nv.Value
			}
		})
	}
	var errs []error
	r.eachParam(func(key string, nv *NV) {
		if !nv.Secret || nv.Value != SecretMask {
			return
		}
		v, ok := stored[key]
		if !ok {
			errs = append(errs, fmt.Errorf("resource %s parameter %s: %w (give its value)", r.ID, nv.Name, ErrMaskedSecret))
			return
		}
		nv.Value = v
	})
	return errors.Join(errs...)
}

// eachParam calls fn with every instance parameter of r itself and a key
// naming it ("name" for Params, "set/name" for a RuleParams set, by id or
// by position).
func (r *Resource) eachParam(fn func(key string, nv *NV)) {
	for i := range r.Params {
		fn(r.Params[i].Name, &r.Params[i])
	}
	for j := range r.RuleParams {
		set := r.RuleParams[j].ID
		if set == "" {
			set = "#" + strconv.Itoa(j)
		}
		for i := range r.RuleParams[j].Values {
			nv := &r.RuleParams[j].Values[i]
			fn(set+"/"+nv.Name, nv)
		}
	}
}

// walk calls fn for r and every resource below it.
func (r *Resource) walk(fn func(*Resource)) {
	fn(r)
	for i := range r.Children {
		r.Children[i].walk(fn)
	}
}
