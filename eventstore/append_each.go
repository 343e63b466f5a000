package eventstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/assay-dev/assay/domain"
)

// AppendEach stores each envelope on its own, not atomically: the publishes are
// pipelined (sent at once, then their acks awaited), so n independent events cost about
// one round trip instead of n, and none of an atomic batch's staging on the server.
// Every envelope on a subject in expect carries that expectation, so of two events on
// one subject expecting 0 only the first is stored. errs[i] is envs[i]'s fate: nil
// (stored, out[i].Seq set), a conflict (wrapping domain.ErrConflict) or another error
// (not known to be stored). A whole call fails only before anything is sent.
func (s *Store) AppendEach(ctx context.Context, expect Expect, envs ...domain.Envelope) (out []domain.Envelope, errs []error, err error) {
	if len(envs) == 0 {
		return nil, nil, nil
	}
	out = make([]domain.Envelope, len(envs))
	msgs := make([]*nats.Msg, len(envs))
	for i, env := range envs {
		data, err := s.complete(&env)
		if err != nil {
			return nil, nil, fmt.Errorf("eventstore: append event %d: %w", i, err)
		}
		msg := &nats.Msg{Subject: env.Subject, Header: s.headers(env), Data: data}
		if seq, ok := expect[env.Subject]; ok {
			msg.Header[jetstream.ExpectedLastSubjSeqHeader] = []string{strconv.FormatUint(seq, 10)}
		}
		out[i], msgs[i] = env, msg
	}
	errs = make([]error, len(envs))
	futures := make([]jetstream.PubAckFuture, len(envs))
	for i, msg := range msgs {
		futures[i], errs[i] = s.js.PublishMsgAsync(msg)
		if errs[i] != nil {
			errs[i] = appendErr(msg.Subject, errs[i])
		}
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			out[i].Seq = ack.Sequence
		case e := <-f.Err():
			errs[i] = appendErr(msgs[i].Subject, e)
		case <-ctx.Done():
			errs[i] = fmt.Errorf("eventstore: append %s: %w", msgs[i].Subject, ctx.Err())
		}
	}
	return out, errs, nil
}
