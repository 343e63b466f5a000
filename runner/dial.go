package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// errBlockedAddress: the dialer refused an address (link-local or cloud metadata).
var errBlockedAddress = errors.New("address refused")

// blockedError is the dialer's refusal, with the address and the reason.
type blockedError struct{ addr, why string }

func (e *blockedError) Error() string {
	return fmt.Sprintf("%s is a %s (set AllowPrivateMetadata to allow it)", e.addr, e.why)
}

func (e *blockedError) Unwrap() error { return errBlockedAddress }

// metadataV6 is AWS's IPv6 instance metadata address.
var metadataV6 = netip.MustParseAddr("fd00:ec2::254")

// nat64 is the well-known NAT64 prefix: 64:ff9b::a9fe:a9fe reaches 169.254.169.254.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// blocked says why an address may not be dialed, "" when it may.
func blocked(ip netip.Addr) string {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	switch {
	case ip == metadataV6:
		return "cloud metadata address"
	case ip.Is4() && ip.IsLinkLocalUnicast(): // 169.254.0.0/16, where 169.254.169.254 lives
		return "link-local address (cloud metadata)"
	case ip.Is6() && ip.IsLinkLocalUnicast(): // fe80::/10
		return "link-local address"
	}
	return ""
}

// control runs on the address actually dialed, after name resolution: a name that
// resolves (or rebinds) to a metadata address is refused here.
func (e *Executor) control(network, address string, _ syscall.RawConn) error {
	if e.cfg.AllowPrivateMetadata {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dialed address %q", errBlockedAddress, address)
	}
	if why := blocked(ap.Addr()); why != "" {
		return &blockedError{addr: ap.Addr().String(), why: why}
	}
	return nil
}

// hostAllowed: the URL's host:port must be listed. An entry without a port allows the
// scheme's default port only; names compare case-insensitively.
func hostAllowed(u *url.URL, allow []string) bool {
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	for _, entry := range allow {
		entry = strings.ToLower(strings.TrimSpace(entry))
		if i := strings.Index(entry, "://"); i >= 0 { // tolerate a base URL
			entry = entry[i+3:]
		}
		entry = strings.TrimSuffix(entry, "/")
		h, p, err := net.SplitHostPort(entry)
		if err != nil { // no port
			h, p = strings.Trim(entry, "[]"), map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		if strings.TrimSuffix(h, ".") == host && p == port {
			return true
		}
	}
	return false
}

// transportError says plainly what went wrong before a response arrived.
func transportError(err error, timeout time.Duration) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, errBlockedAddress):
		var be *blockedError
		if errors.As(err, &be) {
			return "refused to connect: " + be.Error()
		}
		return "refused to connect: " + err.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("timed out after %s: %v", timeout, err)
	case errors.Is(err, context.Canceled):
		return "canceled: " + err.Error()
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("DNS lookup of %s failed: %s", dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused: " + err.Error()
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset: " + err.Error()
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Sprintf("%s %s: %v", uerr.Op, uerr.URL, uerr.Err)
	}
	return err.Error()
}
