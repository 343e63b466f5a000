// Package catalog assembles the whole event catalog of assay: every aggregate's events.
package catalog

import (
	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/user"
)

// New is a catalog with every event type of assay at its current version, and the
// upcasters from older versions.
func New() *domain.Catalog {
	c := domain.NewCatalog()
	user.Register(c)
	app.Register(c)
	iface.Register(c)
	batch.Register(c)
	return c
}
