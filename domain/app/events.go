package app

import (
	"time"

	"github.com/assay-dev/assay/domain"
)

// Created: a user created an app.
type Created struct {
	AppID   string     `json:"app_id"`
	OwnerID string     `json:"owner_id"`
	App     Definition `json:"app"`
	At      time.Time  `json:"at"`
}

// Updated: the app's definition changed; App is the whole definition after the change.
type Updated struct {
	AppID   string     `json:"app_id"`
	OwnerID string     `json:"owner_id"`
	App     Definition `json:"app"`
	Changed []string   `json:"changed"`
	At      time.Time  `json:"at"`
}

// Archived: the app is gone from lists and takes no new work; its history stays.
type Archived struct {
	AppID   string    `json:"app_id"`
	OwnerID string    `json:"owner_id"`
	At      time.Time `json:"at"`
}

func (Created) EventType() string  { return "app.created" }
func (Updated) EventType() string  { return "app.updated" }
func (Archived) EventType() string { return "app.archived" }

func (e Created) Subject() string  { return domain.AppSubject(e.AppID) }
func (e Updated) Subject() string  { return domain.AppSubject(e.AppID) }
func (e Archived) Subject() string { return domain.AppSubject(e.AppID) }

// Register adds the app's events to a catalog.
func Register(c *domain.Catalog) {
	domain.Register[Created](c, 1)
	domain.Register[Updated](c, 1)
	domain.Register[Archived](c, 1)
}
