package e2e

import "syscall"

// childSysProcAttr makes the kernel kill a collector when the test process dies, so that an
// interrupted test run leaves no collector behind.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
