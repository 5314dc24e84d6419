package model

// FindResource returns the resource with that id at any depth of rs (a
// group member, a clone's child), or nil. The result points into rs.
func FindResource(rs []Resource, id string) *Resource {
	for i := range rs {
		if rs[i].ID == id {
			return &rs[i]
		}
		if r := FindResource(rs[i].Children, id); r != nil {
			return r
		}
	}
	return nil
}

// ParentOf returns the group or clone whose child has that id, or nil for
// a top-level or unknown id. The result points into rs.
func ParentOf(rs []Resource, id string) *Resource {
	for i := range rs {
		for _, ch := range rs[i].Children {
			if ch.ID == id {
				return &rs[i]
			}
		}
		if p := ParentOf(rs[i].Children, id); p != nil {
			return p
		}
	}
	return nil
}
