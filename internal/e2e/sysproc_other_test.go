//go:build !linux

package e2e

import "syscall"

// childSysProcAttr: outside Linux, the tests' cleanups are the only guard.
func childSysProcAttr() *syscall.SysProcAttr { return nil }
