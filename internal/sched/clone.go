package sched

import "fmt"

func (ws *workingSet) unpackClone(r *resource) error {
	return fmt.Errorf("clone %q: %w", r.id, ErrUnsupported)
}
func (ws *workingSet) cloneOfChild(id string) *resource { return nil }
func (ws *workingSet) findCloneInstance(c *resource, n *node, id string, h any) *resource {
	return nil
}
func (ws *workingSet) assignClone(r *resource, prefer *node) *node { return nil }
func (ws *workingSet) createCloneActions(r *resource)              {}
func (ws *workingSet) cloneInternal(r *resource)                   {}
func (ws *workingSet) cloneActionFlags(a *Action, n *node) actionFlags {
	return a.flags
}
func (ws *workingSet) cloneUpdateOrdered(first, then *Action, n *node, flags, filter actionFlags, typ orderFlags, depth int) (bool, bool) {
	return ws.updatePrimitiveOrdered(first, then, n, flags, filter, typ, depth)
}
func (ws *workingSet) influencePriority(dep, prim *resource, c *colocation) {}
