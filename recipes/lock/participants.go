package lock

import (
	"context"
	"errors"
	"sync"

	"github.com/zkit-go/zkit/core"
)

// participants lists the contenders under dir and reads their ids, with
// the reads pipelined. Contenders that leave meanwhile are skipped.
func participants(ctx context.Context, c *core.Client, dir string, markers []marker) ([]string, error) {
	children, err := c.GetChildren(ctx, dir)
	if errors.Is(err, core.ErrNoNode) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	nodes := contenders(children, markers)
	ids := make([]string, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			data, err := c.GetData(ctx, joinPath(dir, n.name))
			switch {
			case err != nil:
				errs[i] = err
			case len(data) == 0:
				ids[i] = n.name
			default:
				ids[i] = string(data)
			}
		})
	}
	wg.Wait()
	out := make([]string, 0, len(nodes))
	for i := range nodes {
		switch {
		case errors.Is(errs[i], core.ErrNoNode):
		case errs[i] != nil:
			return nil, errs[i]
		default:
			out = append(out, ids[i])
		}
	}
	return out, nil
}
