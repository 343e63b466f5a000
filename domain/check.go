package domain

import (
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// CheckText adds a field error unless s has between min and max characters (runes).
func (p *Problems) CheckText(field, s string, min, max int) {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		p.Add(field, "must be valid UTF-8")
	case strings.ContainsRune(s, 0):
		p.Add(field, "must not contain NUL characters")
	case n < min && min == 1:
		p.Add(field, "is required")
	case n < min:
		p.Add(field, "must have at least %d characters", min)
	case n > max:
		p.Add(field, "must have at most %d characters", max)
	}
}

// CheckBaseURL adds a field error unless s is an absolute http(s) URL with a host.
func (p *Problems) CheckBaseURL(field, s string) {
	u, err := url.Parse(s)
	switch {
	case s == "":
		p.Add(field, "is required")
	case err != nil:
		p.Add(field, "is not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		p.Add(field, "must be an absolute http or https URL")
	case u.Host == "":
		p.Add(field, "must name a host")
	case u.User != nil:
		p.Add(field, "must not carry credentials: the log is readable by subscribers; use a header variable")
	case u.RawQuery != "" || u.Fragment != "":
		p.Add(field, "must not have a query or a fragment")
	}
}

// CheckEmails adds a field error for each address that is not a plain email address.
func (p *Problems) CheckEmails(field string, emails []string) {
	for i, e := range emails {
		if !ValidEmail(e) {
			p.Add(field+"["+itoa(i)+"]", "must be an email address")
		}
	}
}

// ValidEmail is true for a bare address like a@b.c (no display name).
func ValidEmail(s string) bool {
	if len(s) > 254 || strings.TrimSpace(s) != s {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == "" && strings.Contains(s[strings.LastIndex(s, "@"):], ".")
}

var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// CheckHeaders adds a field error for each header name that is not an HTTP token or a
// value with control characters.
func (p *Problems) CheckHeaders(field string, h map[string]string) {
	for k, v := range h {
		if !headerName.MatchString(k) {
			p.Add(field+"."+k, "is not a valid header name")
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			p.Add(field+"."+k, "must not contain line breaks")
		}
	}
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,63}$`)

// ValidVarName is true for a variable name usable as ${name}.
func ValidVarName(s string) bool { return varName.MatchString(s) }

func Itoa(i int) string { return itoa(i) }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}
