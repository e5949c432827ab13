//go:build !linux

package main

import "errors"

var errPinLinuxOnly = errors.New("--pin works on Linux only")

func allowedCPUs() ([]int, error) { return nil, errPinLinuxOnly }

func pinProcess([]int) error { return errPinLinuxOnly }
