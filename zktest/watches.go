package zktest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Watches returns the paths each session watches on the server, by session
// id, as its "wchc" four-letter word lists them. Tests use it to check
// that a recipe holds the watches it should, and no more.
//
// ZooKeeper 3.8 lists data and exists watches there, persistent ones
// included; child watches (getChildren) do not appear.
func (s *Server) Watches(ctx context.Context) (map[int64][]string, error) {
	out, err := s.FourLetter(ctx, "wchc")
	if err != nil {
		return nil, err
	}
	return parseWatches(out)
}

// parseWatches reads wchc's output: a "0x<session>" line, then one
// indented line per watched path.
func parseWatches(out string) (map[int64][]string, error) {
	m := map[int64][]string{}
	var (
		session int64
		seen    bool
	)
	for line := range strings.Lines(out) {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
		case strings.HasPrefix(line, "0x"):
			id, err := strconv.ParseUint(strings.TrimPrefix(trimmed, "0x"), 16, 64)
			if err != nil {
				return nil, fmt.Errorf("zktest: wchc: bad session line %q", trimmed)
			}
			session, seen = int64(id), true
		case !seen:
			return nil, fmt.Errorf("zktest: wchc: path %q before any session", trimmed)
		default:
			m[session] = append(m[session], trimmed)
		}
	}
	return m, nil
}
