package core

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultPort is ZooKeeper's client port, used when a server has none.
const DefaultPort = 2181

// serverAddr is one entry of the server list. The host is resolved again on
// each connection attempt.
type serverAddr struct {
	host string
	port int
}

func (s serverAddr) String() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// parseServers reads "host:port,host:port/chroot". Hosts may be names, IPv4
// or bracketed IPv6 addresses; a missing port means 2181.
//
// A list that looks like it holds credentials (user:password@host, or a
// URL) is refused, and an error about a list with an @ in it does not
// repeat the list, as what comes before the @ may be a password.
func parseServers(spec string) ([]serverAddr, string, error) {
	addrs, root, err := parseServerList(spec)
	if !strings.ContainsRune(spec, '@') {
		return addrs, root, err
	}
	if err != nil || holdsCredentials(spec, root) {
		return nil, "", fmt.Errorf("%w: a server list with an @ that is not a chroot's (credentials, user:password@host?); give credentials with WithAuth (the list is not repeated here)", ErrInvalidArgument)
	}
	return addrs, root, nil
}

// holdsCredentials reports whether spec, parsed with the chroot root,
// looks like a URL or user:password@host:port: a "://", an @ before the
// chroot, or a chroot whose first segment holds both an @ and a colon,
// what a password with a slash in it leaves there.
func holdsCredentials(spec, root string) bool {
	hosts, _, _ := strings.Cut(spec, "/")
	first, _, _ := strings.Cut(strings.TrimPrefix(root, "/"), "/")
	return strings.Contains(spec, "://") || strings.Contains(hosts, "@") ||
		strings.Contains(first, "@") && strings.Contains(first, ":")
}

func parseServerList(spec string) ([]serverAddr, string, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, "", fmt.Errorf("%w: empty server list", ErrNoServers)
	}
	var root string
	if i := strings.IndexByte(spec, '/'); i >= 0 {
		spec, root = spec[:i], spec[i:]
		if root == "/" {
			root = ""
		} else if err := validatePath(root, false); err != nil {
			return nil, "", fmt.Errorf("%w: chroot: %v", ErrInvalidArgument, err)
		}
	}
	var out []serverAddr
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, "", fmt.Errorf("%w: empty entry in server list %q", ErrInvalidArgument, spec)
		}
		addr, err := parseServer(item)
		if err != nil {
			return nil, "", err
		}
		out = append(out, addr)
	}
	return out, root, nil
}

func parseServer(item string) (serverAddr, error) {
	host, portText := item, ""
	switch {
	case strings.HasPrefix(item, "["):
		end := strings.IndexByte(item, ']')
		if end < 0 {
			return serverAddr{}, fmt.Errorf("%w: unclosed bracket in %q", ErrInvalidArgument, item)
		}
		host = item[1:end]
		rest := item[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return serverAddr{}, fmt.Errorf("%w: unexpected %q after ] in %q", ErrInvalidArgument, rest, item)
			}
			portText = rest[1:]
		}
		if net.ParseIP(host) == nil {
			return serverAddr{}, fmt.Errorf("%w: %q is not an IPv6 address", ErrInvalidArgument, host)
		}
	case strings.Count(item, ":") == 1:
		host, portText, _ = strings.Cut(item, ":")
	case strings.Count(item, ":") > 1:
		return serverAddr{}, fmt.Errorf("%w: IPv6 address %q must be bracketed", ErrInvalidArgument, item)
	}
	if host == "" || strings.ContainsAny(host, " \t/") {
		return serverAddr{}, fmt.Errorf("%w: bad host in %q", ErrInvalidArgument, item)
	}
	port := DefaultPort
	if portText != "" || strings.HasSuffix(item, ":") {
		p, err := strconv.Atoi(portText)
		if err != nil || p <= 0 || p > 65535 {
			return serverAddr{}, fmt.Errorf("%w: bad port in %q", ErrInvalidArgument, item)
		}
		port = p
	}
	return serverAddr{host: host, port: port}, nil
}
