// Package compat answers the Pacemaker helper commands that unmodified
// OCF resource agents (Debian's resource-agents) call: crm_node,
// crm_attribute, crm_master, attrd_updater, pacemakerd --version
// (ocf_local_nodename asks it before trusting crm_node -n), and
// crm_resource --resource RSC --meta --get-parameter NAME (PAF's pgsqlms
// checks its clone's notify=true with it).
//
// # How an agent reaches them
//
// The paceline binary is a multicall binary: run under one of the names in
// Tools (a symlink), it behaves as that tool (Main); `paceline compat TOOL
// ARGS...` does the same. `paceline agent` installs the links with
// InstallLinks in DATA_DIR/bin (root-owned, mode 0755) and runs every OCF
// agent with that directory first in PATH and as HA_SBIN_DIR, so
// ocf-shellfuncs finds these tools before any installed Pacemaker ones.
// AgentEnv lists the variables the agent adds to the agents' environment:
//
//	PATH=DATA_DIR/bin:/usr/sbin:/usr/bin:/sbin:/bin
//	HA_SBIN_DIR=DATA_DIR/bin
//	PACELINE_NODE=<this node's name>
//	PACELINE_COMPAT_SOCKET=DATA_DIR/compat.sock
//	OCF_RESKEY_crm_feature_set=3.16.2 (Pacemaker 2.1.5's, so
//	ocf_promotion_score uses crm_attribute --promotion)
//
// # The local endpoint
//
// The tools hold no credentials. They talk to the local agent over the
// unix socket PACELINE_COMPAT_SOCKET (default DefaultSocket): one JSON
// Request per connection, one Response back. The socket is created with
// mode 0600 in the 0700 data directory, and Serve additionally checks the
// peer's credentials (SO_PEERCRED): only root, or the user the agent runs
// as, is answered, and the Handler learns that uid (PeerUID). The
// Handler behind it (the daemon's) reads the replicated store directly
// and sends every write through the agent's HTTP API as a local
// principal of role operator ("local:uid=UID@NODE"), so the API's role
// check and audit log cover the helper commands as they cover the CLI:
// transient attributes ("-l reboot", scope status) are PUT
// /v1/nodes/NODE/attributes, permanent ones ("-l forever", scope nodes)
// a configuration apply that changes only node attributes (both
// operator), and cluster options (scope crm_config) PUT
// /v1/properties/NAME, which needs admin: the endpoint refuses them
// (ErrPermission) and the tool tells the caller to use `paceline property
// set` with an admin token. Followers forward writes to the leader.
//
// # Output and exit codes
//
// Each tool prints what Pacemaker 2.1 prints for the options agents use
// (crm_attribute -G -q prints the value alone; without -q
// "scope=SCOPE  name=NAME value=VALUE"), reports an error as one line
// "TOOL: message" on stderr, and exits with Pacemaker's codes: 0, 64
// (CRM_EX_USAGE) for bad arguments, 105 (CRM_EX_NOSUCH) for an attribute
// or node that does not exist, 4 (CRM_EX_INSUFFICIENT_PRIV) for a change
// the local endpoint may not make (a cluster option), 1 for any other
// failure (crm_master's own usage errors exit 1, as its shell script
// does).
//
// Example, from inside an agent on node n1:
//
//	crm_attribute -N n1 -n site -v east        # permanent node attribute (nodes)
//	crm_attribute -N n1 -n site -G -q          # prints "east"
//	crm_attribute -l reboot -n pingd -v 1000   # this node's transient attribute
//	crm_master -l reboot -v 100                # master-<resource> on this node
//	attrd_updater -n pingd -Q                  # name="pingd" host="n1" value="1000"
//	crm_attribute -n stonith-enabled -v false  # exit 4: needs admin (paceline property set)
package compat
