package api

import (
	"context"
	"net/http"
	"net/url"
)

// RemoveNode removes a node from the cluster and revokes its certificate
// (DELETE /v1/nodes/NAME, admin). The node can then neither call its
// former peers nor rejoin with its old certificate.
func (c *Client) RemoveNode(ctx context.Context, node string) error {
	return c.call(ctx, http.MethodDelete, "/v1/nodes/"+url.PathEscape(node), nil, nil)
}
