package main

import (
	"testing"

	"github.com/zkit-go/zkit/zktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(zktest.Main(m)) }
