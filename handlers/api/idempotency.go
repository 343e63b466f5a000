package api

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// idempotency remembers the answer to a command sent with an Idempotency-Key, so the same
// key from the same user within 24 h answers what the first request answered.
type idempotency struct{ db *bun.DB }

const (
	idempotencyTTL   = 24 * time.Hour
	idempotencyLease = time.Minute // longest a command may run before its claim can be taken over
)

type idemRow struct {
	bun.BaseModel `bun:"table:idempotency_keys"`
	UserID        string    `bun:"user_id,pk"`
	Key           string    `bun:"key,pk"`
	RequestHash   string    `bun:"request_hash"`
	Status        int       `bun:"status"`
	Headers       string    `bun:"response_headers"`
	Body          string    `bun:"response_body"`
	CreatedAt     time.Time `bun:"created_at"`
}

// stored is a remembered answer (Status 0 while the first request is still running).
type stored struct {
	Status      int
	Body        string
	Location    string
	RequestHash string
}

func requestHash(method, path string, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", method, path)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// claim records that a request with this key started; if one was already recorded within
// the TTL it returns that one instead.
func (i *idempotency) claim(ctx context.Context, user, key, hash string) (*stored, error) {
	now := time.Now().UTC()
	// A claim still "running" after the lease belongs to a request that died between claim
	// and finish: it is taken over. Its command id derives from the key and the request, so
	// running it again appends nothing twice.
	if _, err := i.db.NewDelete().Model((*idemRow)(nil)).Where("user_id = ? AND ? = ?", user, bun.Ident("key"), key).
		Where("created_at < ? OR (status = 0 AND created_at < ?)", now.Add(-idempotencyTTL), now.Add(-idempotencyLease)).Exec(ctx); err != nil {
		return nil, fmt.Errorf("idempotency: expire: %w", err)
	}
	row := idemRow{UserID: user, Key: key, RequestHash: hash, Headers: "{}", CreatedAt: now}
	res, err := i.db.NewInsert().Model(&row).Ignore().Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("idempotency: claim: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil, nil
	}
	var prev idemRow
	err = i.db.NewSelect().Model(&prev).Where("user_id = ? AND ? = ?", user, bun.Ident("key"), key).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errors.New("idempotency: the key vanished; retry")
	}
	if err != nil {
		return nil, fmt.Errorf("idempotency: read: %w", err)
	}
	return &stored{Status: prev.Status, Body: prev.Body, Location: prev.Headers, RequestHash: prev.RequestHash}, nil
}

// finish stores the answer; release forgets a key whose request failed before appending,
// so that it can be retried.
func (i *idempotency) finish(ctx context.Context, user, key string, status int, body, location string) error {
	_, err := i.db.NewUpdate().Model((*idemRow)(nil)).Set("status = ?", status).Set("response_body = ?", body).
		Set("response_headers = ?", location).Where("user_id = ? AND ? = ?", user, bun.Ident("key"), key).Exec(ctx)
	return err
}

func (i *idempotency) release(ctx context.Context, user, key string) error {
	_, err := i.db.NewDelete().Model((*idemRow)(nil)).Where("user_id = ? AND ? = ? AND status = 0", user, bun.Ident("key"), key).Exec(ctx)
	return err
}
