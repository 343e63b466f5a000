// Package runner executes cases: it consumes execution requests (from RabbitMQ or straight
// from JetStream), sends the real HTTP request, evaluates the assertions and appends the
// result (DESIGN.md, "Execution"; built with the execution issue).
package runner
