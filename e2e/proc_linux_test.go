//go:build e2e

package e2e

import (
	"os/exec"
	"syscall"
)

// setParentDeath has the kernel kill the child when the test binary dies,
// even by SIGKILL or a test timeout, when no cleanup runs.
func setParentDeath(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
