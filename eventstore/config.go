package eventstore

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults of Config. The duplicate window floor is the design's: a retried publish
// within two minutes must be recognised as the same event.
const (
	DefaultStream          = "EVENTS"
	DefaultSource          = "/assay"
	DefaultDuplicateWindow = 2 * time.Minute
	MinDuplicateWindow     = 2 * time.Minute
)

// Config describes the one stream that holds the log.
type Config struct {
	Stream          string        // default "EVENTS"
	Subjects        []string      // default []string{"events.>"}
	Replicas        int           // default 1 (3 in a cluster)
	DuplicateWindow time.Duration // default 2m; Validate: >= 2m
	Source          string        // CloudEvents ce-source, default "/assay"
}

func (c *Config) setDefaults() {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if len(c.Subjects) == 0 {
		c.Subjects = []string{"events.>"}
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
	}
	if c.Source == "" {
		c.Source = DefaultSource
	}
}

// Validate reports every problem at once (errors.Join), so a bad configuration is
// fixed in one round rather than one field per restart.
func (c Config) Validate() error {
	var errs []error
	if c.Stream == "" || strings.ContainsAny(c.Stream, ".*> \t\r\n/\\") {
		errs = append(errs, fmt.Errorf("stream name %q: must be non-empty without '.', '*', '>', slashes or spaces", c.Stream))
	}
	if len(c.Subjects) == 0 {
		errs = append(errs, errors.New("subjects: at least one is required"))
	}
	for _, s := range c.Subjects {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			errs = append(errs, fmt.Errorf("subject %q: must be non-empty without spaces", s))
		}
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("replicas %d: must be between 1 and 5", c.Replicas))
	}
	if c.DuplicateWindow < MinDuplicateWindow {
		errs = append(errs, fmt.Errorf("duplicate window %s: must be at least %s", c.DuplicateWindow, MinDuplicateWindow))
	}
	if c.Source == "" {
		errs = append(errs, errors.New("source: required (CloudEvents ce-source)"))
	}
	return errors.Join(errs...)
}
