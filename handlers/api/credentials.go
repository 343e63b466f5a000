package api

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"golang.org/x/crypto/bcrypt"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/user"
)

// credentials is the one primary store of password hashes: they never enter the log,
// which subscribers can read.
type credentials struct {
	db    *bun.DB
	cost  int
	dummy sync.Once
	hash  []byte // compared against for unknown emails, so they take as long as wrong passwords
}

type credentialRow struct {
	bun.BaseModel `bun:"table:credentials"`
	UserID        string    `bun:"user_id,pk"`
	Email         string    `bun:"email"`
	PasswordHash  string    `bun:"password_hash"`
	CreatedAt     time.Time `bun:"created_at"`
}

// create stores a new user's hash; a taken email is domain.ErrConflict.
func (c *credentials) create(ctx context.Context, userID, email, password string) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), c.cost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	row := credentialRow{UserID: userID, Email: email, PasswordHash: string(hash), CreatedAt: time.Now().UTC()}
	res, err := c.db.NewInsert().Model(&row).Ignore().Exec(ctx)
	if err != nil {
		return fmt.Errorf("store credentials: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.Conflict("the email %q is already registered", email)
	}
	return nil
}

// remove undoes create when the registration could not be recorded in the log.
func (c *credentials) remove(ctx context.Context, userID string) error {
	_, err := c.db.NewDelete().Model((*credentialRow)(nil)).Where("user_id = ?", userID).Exec(ctx)
	return err
}

// check returns the user id for a correct email and password.
func (c *credentials) check(ctx context.Context, email, password string) (string, error) {
	var row credentialRow
	err := c.db.NewSelect().Model(&row).Where("email = ?", user.NormalizeEmail(email)).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		c.dummy.Do(func() { c.hash, _ = bcrypt.GenerateFromPassword([]byte("not anyone's password"), c.cost) })
		_ = bcrypt.CompareHashAndPassword(c.hash, []byte(password))
		return "", errBadLogin
	}
	if err != nil {
		return "", fmt.Errorf("read credentials: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(row.PasswordHash), []byte(password)) != nil {
		return "", errBadLogin
	}
	return row.UserID, nil
}

var errBadLogin = problemf(401, "wrong email or password")
