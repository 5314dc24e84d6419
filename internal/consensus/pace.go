package consensus

import (
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/paceline/paceline/internal/store"
)

// errNotLeading is what a held heartbeat or append returns when this node stopped
// leading while it waited: raft's heartbeat loop of a former leader ends
// (its stop channel is closed) instead of sending it.
var errNotLeading = errors.New("consensus: held message not sent: this node no longer leads")

// isHeartbeat reports whether args is one of raft's heartbeats: an empty
// append without a log position or commit index, as raft's heartbeat loop
// sends them (replication's appends always carry a position).
func isHeartbeat(args *raft.AppendEntriesRequest) bool {
	return args.PrevLogEntry == 0 && args.PrevLogTerm == 0 && args.LeaderCommitIndex == 0 && len(args.Entries) == 0
}

// pacedTransport is the transport raft runs on. It passes everything to
// the caller's transport, except that it holds back messages that tell
// their follower nothing new:
//   - to a client (a non-voter), to one per every
//     (Config.ClientHeartbeat): heartbeats, since a client does not vote
//     and never stands for election, so its contact keeps no one leader
//     and it needs to hear only often enough to know the leader
//     (Config.HeartbeatTimeout, longer on a client); and idle appends (no
//     entries, the commit index it was last sent), which raft's
//     replication sends every CommitTimeout (50-100 ms) to keep in touch;
//   - to a voter, heartbeats while it answers (Config.QuietHeartbeats):
//     a heartbeat waits until the voter has not answered for quiet.
//     Raft's replication keeps an idle voter in touch with an append
//     every CommitTimeout, and each answer is contact as a heartbeat's
//     is (raft's leader lease counts both). Heartbeats then carry
//     nothing; they go when the appends' answers stop, when the voter's
//     log is stuck behind a slow disk, say, since a voter answers a
//     heartbeat apart from its log.
//
// At raft's rates (a heartbeat every 27-55 ms with the daemon's timings)
// a leader's cost grew fast with its clients, and an idle voter cost it
// about 37 round trips a second. Appends that carry entries or a new
// commit index are never held, nor appends to a voter.
type pacedTransport struct {
	raft.Transport
	every, quiet time.Duration
	// client reports whether id is a client, and false when it cannot
	// tell at once (the store is being written).
	client  func(id raft.ServerID) (client, known bool)
	leading func() bool
	// done is closed by shutdown: held messages end at once (raft's
	// shutdown waits for its replication goroutines).
	done     chan struct{}
	doneOnce sync.Once

	mu    sync.Mutex
	peers map[raft.ServerID]*pacedPeer
	// kicked is closed (and replaced) when the leader stores new log
	// entries, applies a command or stops leading: held appends go at
	// once.
	kicked chan struct{}
}

type pacedPeer struct {
	client  bool
	checked time.Time // when client was last looked up
	sent    time.Time // when the last heartbeat to a client went out
	// answered is when the follower last answered an append or a
	// heartbeat (recorded with quiet set); while a heartbeat to it is
	// held (holding), quietTimer fires quiet after that.
	answered   time.Time
	quietTimer *time.Timer
	holding    bool
	// appended is when the last append went out on the pipeline, and
	// commit the commit index it carried.
	appended time.Time
	commit   uint64
}

// newPacedTransport returns t itself when every and quiet are zero
// (nothing held), or when t has no pre-vote (the wrapper offers it, and
// raft would use it).
func newPacedTransport(t raft.Transport, every, quiet time.Duration, client func(raft.ServerID) (bool, bool), leading func() bool) raft.Transport {
	if _, ok := t.(raft.WithPreVote); !ok || (every <= 0 && quiet <= 0) {
		return t
	}
	return &pacedTransport{Transport: t, every: every, quiet: quiet, client: client, leading: leading,
		done: make(chan struct{}), peers: map[raft.ServerID]*pacedPeer{}, kicked: make(chan struct{})}
}

// AppendEntries holds a heartbeat (holdHeartbeat), then sends it, or any
// other append, and notes the follower's answer.
func (p *pacedTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	if isHeartbeat(args) {
		if err := p.holdHeartbeat(id); err != nil {
			return err
		}
	}
	err := p.Transport.AppendEntries(id, target, args, resp)
	if err == nil {
		p.answer(id)
	}
	return err
}

// holdHeartbeat waits until a heartbeat to id may go: to a client, every
// after the last one; to a voter, quiet after its last answer. It fails
// when this node stopped leading or shut down meanwhile.
func (p *pacedTransport) holdHeartbeat(id raft.ServerID) error {
	for {
		now := time.Now()
		peer := p.peer(id, now)
		p.mu.Lock()
		client, wait := peer.client, time.Duration(0)
		switch {
		case client && p.every > 0:
			wait = peer.sent.Add(p.every).Sub(now)
		case !client && p.quiet > 0:
			wait = peer.answered.Add(p.quiet).Sub(now)
		}
		if wait <= 0 {
			if client {
				peer.sent = now
			}
			peer.holding = false
			p.mu.Unlock()
			return nil
		}
		if client {
			p.mu.Unlock()
			if err := p.wait(wait, nil); err != nil {
				return err
			}
			continue
		}
		// A voter: each answer puts quietTimer off (answer), so the
		// held heartbeat wakes only when the answers stop, or when the
		// leader stores entries or stops leading (kicked).
		if peer.quietTimer == nil {
			peer.quietTimer = time.NewTimer(wait)
		} else {
			peer.quietTimer.Reset(wait)
		}
		peer.holding = true
		fired, kicked := peer.quietTimer.C, p.kicked
		p.mu.Unlock()
		select {
		case <-fired:
		case <-kicked:
		case <-p.done:
			return ErrShutdown
		}
		if !p.leading() {
			p.mu.Lock()
			peer.holding = false
			p.mu.Unlock()
			return errNotLeading
		}
	}
}

// answer notes that id answered just now (with quiet set), and puts off a
// heartbeat held for it.
func (p *pacedTransport) answer(id raft.ServerID) {
	if p.quiet <= 0 {
		return
	}
	now := time.Now()
	peer := p.peer(id, now)
	p.mu.Lock()
	peer.answered = now
	if peer.holding {
		peer.quietTimer.Reset(p.quiet)
	}
	p.mu.Unlock()
}

// wait waits d, or less when kicked is closed first (nil: not woken
// early), and reports whether the held message may still go.
func (p *pacedTransport) wait(d time.Duration, kicked <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-kicked:
	case <-p.done:
		return ErrShutdown
	}
	if !p.leading() {
		return errNotLeading
	}
	return nil
}

// shutdown ends every held message, now and later.
func (p *pacedTransport) shutdown() { p.doneOnce.Do(func() { close(p.done) }) }

// kick lets every held append go (the leader stored new entries, applied
// a command, or stopped leading).
func (p *pacedTransport) kick() {
	p.mu.Lock()
	close(p.kicked)
	p.kicked = make(chan struct{})
	p.mu.Unlock()
}

// AppendEntriesPipeline paces the pipeline to a client, and notes the
// answers of every pipeline (pacedPipeline).
func (p *pacedTransport) AppendEntriesPipeline(id raft.ServerID, target raft.ServerAddress) (raft.AppendPipeline, error) {
	pl, err := p.Transport.AppendEntriesPipeline(id, target)
	if err != nil {
		return nil, err
	}
	pp := &pacedPipeline{AppendPipeline: pl, p: p, id: id}
	if p.quiet > 0 {
		pp.answers, pp.closed = make(chan raft.AppendFuture), make(chan struct{})
		go pp.relay(pl.Consumer())
	}
	return pp, nil
}

// pacedPipeline holds an idle append to a client (pacedTransport) until
// every has passed since the last append to it, or until the leader
// stores new entries or applies a command (kick), so nothing new is held
// up: the entries go next, and the new commit index with the next append
// (within a CommitTimeout), as without holding. With quiet set, it passes
// the answers on to raft through relay, which notes when each came.
type pacedPipeline struct {
	raft.AppendPipeline
	p  *pacedTransport
	id raft.ServerID
	// answers is what raft reads instead of the pipeline's own answers
	// (nil: those); closed ends relay.
	answers   chan raft.AppendFuture
	closed    chan struct{}
	closeOnce sync.Once
}

func (pp *pacedPipeline) AppendEntries(args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) (raft.AppendFuture, error) {
	p, now := pp.p, time.Now()
	peer := p.peer(pp.id, now)
	p.mu.Lock()
	kicked := p.kicked
	idle := peer.client && p.every > 0 && len(args.Entries) == 0 && args.LeaderCommitIndex == peer.commit
	wait := peer.appended.Add(p.every).Sub(now)
	p.mu.Unlock()
	if idle && wait > 0 {
		if err := p.wait(wait, kicked); err != nil {
			return nil, err
		}
	}
	p.mu.Lock()
	peer.appended, peer.commit = time.Now(), args.LeaderCommitIndex
	p.mu.Unlock()
	return pp.AppendPipeline.AppendEntries(args, resp)
}

// Consumer returns the pipeline's answers (through relay with quiet set).
func (pp *pacedPipeline) Consumer() <-chan raft.AppendFuture {
	if pp.answers == nil {
		return pp.AppendPipeline.Consumer()
	}
	return pp.answers
}

// relay passes the pipeline's answers on to raft in order, and notes the
// arrival of each one that came (pacedTransport.answer), until the
// pipeline is closed.
func (pp *pacedPipeline) relay(in <-chan raft.AppendFuture) {
	for {
		select {
		case f := <-in:
			if f.Error() == nil {
				pp.p.answer(pp.id)
			}
			select {
			case pp.answers <- f:
			case <-pp.closed:
				return
			}
		case <-pp.closed:
			return
		}
	}
}

// Close closes the pipeline and ends relay.
func (pp *pacedPipeline) Close() error {
	if pp.closed != nil {
		pp.closeOnce.Do(func() { close(pp.closed) })
	}
	return pp.AppendPipeline.Close()
}

// peer returns id's pacing state. Its role is looked up until the store
// has it (it is treated as a voter until then), then again every second.
func (p *pacedTransport) peer(id raft.ServerID, now time.Time) *pacedPeer {
	p.mu.Lock()
	pp := p.peers[id]
	if pp == nil {
		pp = &pacedPeer{}
		p.peers[id] = pp
	}
	stale := now.Sub(pp.checked) >= time.Second
	p.mu.Unlock()
	if stale {
		// Outside p.mu: the lookup reads the store (without waiting).
		if c, known := p.client(id); known {
			p.mu.Lock()
			pp.client, pp.checked = c, now
			p.mu.Unlock()
		}
	}
	return pp
}

// Close closes the caller's transport (raft.WithClose).
func (p *pacedTransport) Close() error {
	if c, ok := p.Transport.(raft.WithClose); ok {
		return c.Close()
	}
	return nil
}

// RequestPreVote passes pre-votes on (raft.WithPreVote: raft uses
// pre-vote only when its transport offers it).
func (p *pacedTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	return p.Transport.(raft.WithPreVote).RequestPreVote(id, target, args, resp)
}

// clientOf is pacedTransport.client over this node's store: known only
// when the store holds the member and is not being written at that moment
// (a heartbeat never waits for an apply or a snapshot restore).
func (f *fsm) clientOf(id raft.ServerID) (client, known bool) {
	if !f.mu.TryRLock() {
		return false, false
	}
	defer f.mu.RUnlock()
	m, ok := f.st.MemberState(string(id))
	if !ok {
		return false, false // not recorded yet: asked again next time
	}
	return m.Role == store.RoleClient, true
}

// kickingLogs is the log store raft writes through when messages are
// paced: every store of new entries (the leader's, or a
// follower's, where nothing is held) lets held appends go, so the
// entries follow at once.
type kickingLogs struct {
	raft.LogStore
	kick func()
}

// IsMonotonic passes the wrapped store's answer on (raft.MonotonicLogStore).
func (k kickingLogs) IsMonotonic() bool {
	m, ok := k.LogStore.(raft.MonotonicLogStore)
	return ok && m.IsMonotonic()
}

func (k kickingLogs) StoreLog(l *raft.Log) error {
	err := k.LogStore.StoreLog(l)
	k.kick()
	return err
}

func (k kickingLogs) StoreLogs(ls []*raft.Log) error {
	err := k.LogStore.StoreLogs(ls)
	k.kick()
	return err
}
