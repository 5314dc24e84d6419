package cib

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// parser carries the document index used to resolve id-refs.
type parser struct {
	idx *index
	// refs resolves templates and tags (set by configuration).
	refs *refs
}

// Parse reads a CIB document (the <cib> element with its configuration
// and status) into a configuration and a status. The error is an
// *UnsupportedError for a feature Paceline does not support yet, an
// *AttrError for a missing or invalid attribute, or describes malformed
// XML. Parse never panics, whatever the input.
func Parse(r io.Reader) (cfg *model.Config, st *model.Status, err error) {
	root, err := readTree(r)
	if err != nil {
		return nil, nil, err
	}
	if root.name != "cib" {
		return nil, nil, fmt.Errorf("root element is <%s>, want <cib>", root.name)
	}
	p := &parser{idx: &index{root: root}}
	cfg = &model.Config{}
	if c := root.child("configuration"); c != nil {
		if err := p.configuration(c, cfg); err != nil {
			return nil, nil, err
		}
	} else {
		return nil, nil, fmt.Errorf("cib: no <configuration> element")
	}
	st, err = p.status(root, cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}

// ParseFile reads the CIB in the named file (see Parse). Errors name the
// file.
func ParseFile(path string) (*model.Config, *model.Status, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	cfg, st, err := Parse(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, st, nil
}

func (p *parser) configuration(c *node, cfg *model.Config) error {
	var err error
	if p.refs, err = scanRefs(c); err != nil {
		return err
	}
	for _, sec := range c.children {
		var err error
		switch sec.name {
		case "crm_config":
			cfg.Properties, cfg.PropertySets, err = p.ruleMap(sec, "cluster_property_set", "cib-bootstrap-options")
		case "rsc_defaults":
			cfg.RscDefaults, cfg.RscDefaultSets, err = p.ruleMap(sec, "meta_attributes", "")
		case "op_defaults":
			cfg.OpDefaults, cfg.OpDefaultSets, err = p.ruleMap(sec, "meta_attributes", "")
		case "nodes":
			cfg.Nodes, err = p.nodes(sec)
		case "resources":
			cfg.Resources, err = p.resources(sec)
		case "constraints":
			err = p.constraints(sec, cfg)
		case "tags":
			// Read by scanRefs: constraints naming a tag are expanded.
		case "fencing-topology", "acls", "alerts":
			// Not used for placement; ignored.
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) nodes(sec *node) ([]model.Node, error) {
	var out []model.Node
	for _, n := range sec.children {
		if n.name != "node" {
			continue
		}
		id, err := required(n, "id")
		if err != nil {
			return nil, err
		}
		nd := model.Node{ID: id, Name: n.get("uname"), Type: model.NodeMember}
		if nd.Name == "" {
			return nil, missing(n, "uname")
		}
		switch t := n.get("type"); t {
		case "", "member", "normal":
		case "ping":
			nd.Type = model.NodePing
		case "remote":
			nd.Type = model.NodeRemote
		default:
			return nil, invalid(n, "type", fmt.Errorf("unknown node type %q", t))
		}
		if v, ok := n.attr("score"); ok {
			if nd.Score, err = model.ParseScore(v); err != nil {
				return nil, invalid(n, "score", err)
			}
		}
		if nd.Attributes, nd.AttributeSets, err = p.ruleMap(n, "instance_attributes", ""); err != nil {
			return nil, err
		}
		if nd.Utilization, nd.UtilizationSets, err = p.ruleMap(n, "utilization", ""); err != nil {
			return nil, err
		}
		out = append(out, nd)
	}
	return out, nil
}

// status reads the <cib> attributes and the <status> section.
func (p *parser) status(root *node, cfg *model.Config) (*model.Status, error) {
	st := &model.Status{}
	if v, ok := root.attr("have-quorum"); ok {
		q, err := parseBool(v)
		if err != nil {
			return nil, invalid(root, "have-quorum", err)
		}
		st.HaveQuorum = q
	}
	if v, ok := root.attr("crm_feature_set"); ok {
		st.FeatureSet = v
	}
	if v, ok := root.attr("execution-date"); ok && v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, invalid(root, "execution-date", fmt.Errorf("%q is not Unix seconds", v))
		}
		st.Now = time.Unix(sec, 0).UTC()
	}
	nameByID := make(map[string]string, len(cfg.Nodes))
	for _, n := range cfg.Nodes {
		nameByID[n.ID] = n.Name
	}
	if sec := root.child("status"); sec != nil {
		for _, ns := range sec.children {
			if ns.name == "tickets" {
				st.Tickets = ticketStates(ns, st.Tickets)
				continue
			}
			if ns.name != "node_state" {
				continue
			}
			n, ok, err := p.nodeState(ns, nameByID)
			if err != nil {
				return nil, err
			}
			if ok {
				st.Nodes = append(st.Nodes, n)
			}
		}
	}
	if dc := root.get("dc-uuid"); dc != "" {
		st.DC = dc
		if name, ok := nameByID[dc]; ok {
			st.DC = name
		} else {
			for _, n := range st.Nodes {
				if n.ID == dc {
					st.DC = n.Name
					break
				}
			}
		}
	}
	return st, nil
}
