package consensus

import "github.com/hashicorp/raft"

// MemTransport is an in-memory Raft transport with connect and disconnect,
// for in-process clusters (tests, the demo). It keeps hashicorp/raft behind
// this package: callers never import it.
type MemTransport struct {
	t *raft.InmemTransport
}

// NewMemTransport returns an unconnected in-memory transport at addr.
func NewMemTransport(addr string) *MemTransport {
	_, t := raft.NewInmemTransport(raft.ServerAddress(addr))
	return &MemTransport{t: t}
}

// Addr is the address other nodes use to reach this transport.
func (m *MemTransport) Addr() string { return string(m.t.LocalAddr()) }

// Connect makes m able to send to peer (one direction).
func (m *MemTransport) Connect(peer *MemTransport) { m.t.Connect(peer.t.LocalAddr(), peer.t) }

// Disconnect stops m sending to peer (one direction).
func (m *MemTransport) Disconnect(peer *MemTransport) { m.t.Disconnect(peer.t.LocalAddr()) }

// Transport is the value NewNode takes.
func (m *MemTransport) Transport() raft.Transport { return m.t }
