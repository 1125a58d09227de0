package app

import (
	"context"

	"github.com/mailbridge/mailbridge/shared/domain"
)

var _ domain.ContentConnector = Protocols{}

// ConnectContent opens the tenant's on-demand content reader.
func (p Protocols) ConnectContent(ctx context.Context, t domain.Tenant, c domain.Credential) (domain.ContentReader, error) {
	a, err := p.adapters(t)
	if err != nil {
		return nil, err
	}
	if a.Content == nil {
		return nil, noAdapter(t, "content")
	}
	return a.Content.ConnectContent(ctx, t, c)
}
