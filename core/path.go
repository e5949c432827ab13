package core

import (
	"fmt"
	"strings"
)

// validatePath checks a path the way the server does
// (PathUtils.validatePath), so a bad one fails before anything is sent.
// sequential checks the path of a sequential create, whose last segment
// the server completes with the number before it checks: it may be empty,
// "." or "..".
func validatePath(path string, sequential bool) error {
	if path == "" {
		return fmt.Errorf("%w: empty path", ErrInvalidPath)
	}
	if path[0] != '/' {
		return fmt.Errorf("%w: %q does not start with /", ErrInvalidPath, path)
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' && !sequential {
		return fmt.Errorf("%w: %q ends with /", ErrInvalidPath, path)
	}
	// Walk the segments without allocating. The server appends a
	// sequential node's number before it checks the path, so there the
	// last segment may be empty, "." or ".." ("/a/" becomes
	// "/a/0000000001", "/a/." becomes "/a/.0000000001").
	for start := 1; start <= len(path); {
		end := strings.IndexByte(path[start:], '/')
		if end < 0 {
			end = len(path)
		} else {
			end += start
		}
		seg := path[start:end]
		lastSeg := end == len(path)
		switch {
		case seg == "" && !(sequential && lastSeg):
			return fmt.Errorf("%w: %q has an empty segment", ErrInvalidPath, path)
		case (seg == "." || seg == "..") && !(sequential && lastSeg):
			return fmt.Errorf("%w: %q has a relative segment %q", ErrInvalidPath, path, seg)
		}
		start = end + 1
	}
	for _, r := range path {
		if badPathRune(r) {
			return fmt.Errorf("%w: %q has the character %U", ErrInvalidPath, path, r)
		}
	}
	return nil
}

// badPathRune reports the characters the server refuses in a path. The
// server checks Java chars, UTF-16 units: NUL, the control characters
// U+0001-U+001F and U+007F-U+009F, U+D800-U+F8FF (surrogates and private
// use) and U+FFF0-U+FFFF. A character above U+FFFF reaches it as a
// surrogate pair, so it is refused too. Bytes that are not UTF-8 come here
// as U+FFFD, which the server refuses as well.
func badPathRune(r rune) bool {
	switch {
	case r == 0:
		return true
	case r > 0 && r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r >= 0xd800 && r <= 0xf8ff, r >= 0xfff0 && r <= 0xffff:
		return true
	case r > 0xffff:
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

// holds reports whether the server path lies in the chroot: the chroot
// itself or below it. "/apple" is not in the chroot "/app".
func (c chroot) holds(path string) bool {
	if c == "" {
		return true
	}
	rest, ok := strings.CutPrefix(path, string(c))
	return ok && (rest == "" || rest[0] == '/')
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
