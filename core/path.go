package core

import (
	"fmt"
	"strings"
)

// validatePath checks a path the way the server does
// (PathUtils.validatePath), so a bad one fails before anything is sent.
// sequential allows a trailing "/", which a sequential create completes.
func validatePath(path string, sequential bool) error {
	if sequential && path != "" {
		// The server appends the sequence number before it checks.
		path += "1"
	}
	if path == "" {
		return fmt.Errorf("%w: empty path", ErrInvalidPath)
	}
	if path[0] != '/' {
		return fmt.Errorf("%w: %q does not start with /", ErrInvalidPath, path)
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' {
		return fmt.Errorf("%w: %q ends with /", ErrInvalidPath, path)
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if seg == "" {
			return fmt.Errorf("%w: %q has an empty segment", ErrInvalidPath, path)
		}
		if seg == "." || seg == ".." {
			return fmt.Errorf("%w: %q has a relative segment %q", ErrInvalidPath, path, seg)
		}
	}
	for _, r := range path {
		if badPathRune(r) {
			return fmt.Errorf("%w: %q has the character %U", ErrInvalidPath, path, r)
		}
	}
	return nil
}

// badPathRune reports the characters the server refuses in a path.
func badPathRune(r rune) bool {
	switch {
	case r == 0:
		return true
	case r > 0 && r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r >= 0xd800 && r <= 0xf8ff, r >= 0xfff0 && r <= 0xffff:
		return true
	}
	return false
}

// chroot maps client paths to server paths and back.
type chroot string

func (c chroot) toServer(path string) string {
	if c == "" {
		return path
	}
	if path == "/" {
		return string(c)
	}
	return string(c) + path
}

func (c chroot) fromServer(path string) string {
	if c == "" {
		return path
	}
	if !strings.HasPrefix(path, string(c)) {
		return path
	}
	rest := path[len(c):]
	if rest == "" {
		return "/"
	}
	if rest[0] != '/' {
		return path
	}
	return rest
}
