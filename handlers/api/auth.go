package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/user"
	"github.com/assay-dev/assay/handlers/command"
)

type registerBody struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
	Name     *string `json:"name"`
}

func (s *Server) register(c echo.Context) error {
	var b registerBody
	if err := bind(c, &b); err != nil {
		return err
	}
	var p domain.Problems
	p.Check(b.Email != nil && domain.ValidEmail(user.NormalizeEmail(*b.Email)), "email", "must be an email address")
	p.Check(b.Password != nil && utf8.RuneCountInString(*b.Password) >= 8, "password", "must have at least 8 characters")
	p.Check(b.Password == nil || len(*b.Password) <= 72, "password", "must have at most 72 bytes")
	p.Check(b.Name != nil && strings.TrimSpace(*b.Name) != "", "name", "is required")
	if err := p.Err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	id, email := command.NewID(), user.NormalizeEmail(*b.Email)
	if err := s.creds.create(ctx, id, email, *b.Password); err != nil {
		return err
	}
	res, err := s.deps.Commands.User(ctx, s.meta(c, id, ""), id, user.SignUp{UserID: id, Email: email, Name: *b.Name, At: s.deps.Commands.Now()})
	s.metrics.command("user.sign_up", res, err)
	if err != nil {
		_ = s.creds.remove(ctx, id)
		return err
	}
	// The new user's first query should find them: wait (bounded) for the read side.
	_ = s.waitFor(c, res.Seq)
	c.Response().Header().Set("Location", "/api/v1/me")
	c.Response().Header().Set(headerSeq, strconv.FormatUint(res.Seq, 10))
	return c.JSON(http.StatusCreated, map[string]any{"id": id, "email": email, "name": *b.Name})
}

type loginBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) login(c echo.Context) error {
	var b loginBody
	if err := bind(c, &b); err != nil {
		return err
	}
	id, err := s.creds.check(c.Request().Context(), b.Email, b.Password)
	if err != nil {
		return err
	}
	exp := time.Now().Add(s.cfg.TokenTTL).UTC().Truncate(time.Second)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject: id, Issuer: "assay", IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(exp),
	}).SignedString([]byte(s.cfg.JWTSecret))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"token": tok, "token_type": "Bearer", "expires_at": exp})
}

// authenticate admits a request with a valid bearer token and remembers its user.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		raw, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || raw == "" {
			return problemf(http.StatusUnauthorized, "send Authorization: Bearer <token> (POST /api/v1/auth/login)")
		}
		var claims jwt.RegisteredClaims
		_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return []byte(s.cfg.JWTSecret), nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("assay"), jwt.WithExpirationRequired())
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			return problemf(http.StatusUnauthorized, "the token has expired; log in again")
		case err != nil || !domain.ValidID(claims.Subject):
			return problemf(http.StatusUnauthorized, "the token is not valid")
		}
		c.Set(ctxUser, claims.Subject)
		return next(c)
	}
}

func (s *Server) me(c echo.Context) error {
	u, err := s.deps.Tables.GetUser(c.Request().Context(), userOf(c))
	if errors.Is(err, domain.ErrNotFound) {
		return problemf(http.StatusUnauthorized, "the token's user does not exist")
	}
	if err != nil {
		return err
	}
	return s.answer(c, u)
}

func userOf(c echo.Context) string {
	u, _ := c.Get(ctxUser).(string)
	return u
}
