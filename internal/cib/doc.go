// Package cib reads a Pacemaker CIB (the XML document crm_simulate and the
// Pacemaker daemons use) into Paceline's model: Parse and ParseFile return
// the configuration (*model.Config) and the observed status
// (*model.Status).
//
// # What is read
//
//   - crm_config: every cluster_property_set merged into Config.Properties,
//     the set "cib-bootstrap-options" first, then by descending set score,
//     the later set in the document first among equal scores, the first
//     occurrence of a name winning (Pacemaker's rule). rsc_defaults and
//     op_defaults meta_attributes likewise, and so are node and resource
//     meta_attributes, instance_attributes and utilization. When any set
//     of a kind has a rule (date_expression, rsc_expression,
//     op_expression, expression), every set of that kind is also kept in
//     document order (Config.PropertySets, RscDefaultSets, OpDefaultSets,
//     Node.AttributeSets, UtilizationSets, Resource.MetaSets,
//     UtilizationSets) and the map holds only the sets without a rule.
//     An operation's meta_attributes are merged overwriting, as Pacemaker
//     does: the first set of equal score wins, a lower score beats a
//     higher one.
//   - nodes: id, uname, type (member, ping), score, instance_attributes
//     (Attributes) and utilization.
//   - resources: primitive, group, clone and master (a clone with meta
//     promotable=true). Plain instance_attributes sets merge into Params in
//     order; sets with a rule become RuleParams (document order, each with
//     its rule and the set's score; the scheduler applies the matching ones
//     by descending score, before Params). Operation attributes other than
//     id, name, interval, timeout, role, on-fail and enabled go to Op.Meta
//     with the op's meta_attributes; op instance_attributes to Op.Params.
//   - constraints: rsc_location (node and score, rules, resource sets),
//     rsc_colocation, rsc_order and rsc_ticket (Config.Tickets; an
//     unknown loss-policy becomes the default), including resource sets.
//   - templates and tags are expanded, so the model never holds them. A
//     primitive with template= gets the template's agent, attribute sets
//     and operations (its own values win; a template operation is dropped
//     when the primitive has one with the same name and role). A template
//     or tag id inside a resource set is replaced by its members in place;
//     as a constraint's rsc, with-rsc, first or then it becomes a
//     non-sequential resource set of its members (named after it, taking
//     the constraint's role or action), and the other side of a
//     colocation or order a one-member set, as Pacemaker's
//     pcmk__tag_to_set does.
//   - status: have-quorum, dc-uuid (as a node name) and execution-date
//     from the <cib> element; every node_state with its transient
//     attributes and operation history; tickets (ticket_state granted,
//     standby, last-granted) into Status.Tickets.
//
// Roles are normalised (Master -> Promoted, Slave -> Unpromoted) and order
// kinds too (case-insensitive; an unknown kind becomes Mandatory, as in
// Pacemaker); scores go through model.ParseScore; intervals and timeouts
// through ParseDuration (an invalid timeout means the default, zero, as in
// Pacemaker; an invalid interval is an error). An id-ref is resolved the way Pacemaker's expand_idref
// does it: against the first element of the same name with that id
// anywhere in the document (nvpairs, attribute sets, operations, op,
// rules, expressions and resource sets). A referring nvpair keeps its own
// name or value when it sets one.
//
// # What is refused
//
// Features the model and scheduler do not support yet make Parse fail with
// one *UnsupportedError naming the element and id: resource templates used
// directly, rsc_location lifetime, and attribute sets with rules inside an
// operation (op meta_attributes and instance_attributes). Missing
// required attributes and invalid values give an *AttrError; malformed XML
// a plain error. fencing-topology, acls and alerts are ignored, as are
// node_state entries of unknown nodes without a uname.
//
// Remote nodes (node type="remote" or an ocf:pacemaker:remote primitive)
// and guest nodes (a primitive's meta remote-node, remote-addr,
// remote-port, remote-connect-timeout) are passed through as configured;
// the scheduler derives the nodes from them. Their node_state entries
// (remote_node="true") are kept with Remote set.
//
// # Example
//
//	cfg, st, err := cib.ParseFile("cluster.xml")
//	var ue *cib.UnsupportedError
//	if errors.As(err, &ue) {
//		log.Fatalf("cannot import yet: %v", ue)
//	}
//
// The returned values belong to the caller; Parse keeps no reference to
// them and has no global state, so it is safe to call concurrently.
package cib
