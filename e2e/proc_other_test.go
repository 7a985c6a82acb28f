//go:build e2e && !linux

package e2e

import "os/exec"

// setParentDeath does nothing here: only Linux has a parent-death signal.
// e2e/run.sh still stops the whole process group.
func setParentDeath(*exec.Cmd) {}
