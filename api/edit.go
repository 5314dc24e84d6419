package api

import (
	"context"
	"errors"
	"net/http"
)

// editAttempts is how often EditConfig retries after losing a
// compare-and-set race to another writer.
const editAttempts = 3

// EditConfig changes the configuration with fn and applies it
// compare-and-set on the epoch it read, retrying (up to three times in
// all) when another write won meanwhile (409). fn's error is returned as
// it is, and nothing is applied; otherwise the error is the API's
// (*Error). The command line's resource words and the web UI's actions
// (enable, disable) both edit this way.
func (c *Client) EditConfig(ctx context.Context, fn func(*Config) error) error {
	for i := 0; ; i++ {
		cfg, err := c.Config(ctx)
		if err != nil {
			return err
		}
		if err := fn(cfg); err != nil {
			return err
		}
		_, err = c.ApplyConfig(ctx, cfg, false)
		var ae *Error
		if err == nil || !errors.As(err, &ae) || ae.StatusCode != http.StatusConflict || i+1 == editAttempts {
			return err
		}
	}
}

// PutConstraint adds con, replacing a constraint with the same id (a
// second "resource move" replaces the first's cli-prefer constraint).
func (c *Client) PutConstraint(ctx context.Context, con Constraint) error {
	err := c.AddConstraint(ctx, con)
	var ae *Error
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusConflict {
		return err
	}
	id := ""
	switch {
	case con.Location != nil:
		id = con.Location.ID
	case con.Colocation != nil:
		id = con.Colocation.ID
	case con.Order != nil:
		id = con.Order.ID
	}
	if err := c.RemoveConstraint(ctx, id); err != nil && (!errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound) {
		return err
	}
	return c.AddConstraint(ctx, con)
}
