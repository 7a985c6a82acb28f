//go:build !linux

package main

import (
	"os"
	"os/exec"
	"time"
)

// dieWithParent has no portable equivalent: an interrupted soak may leave
// children behind on this system.
func dieWithParent(*exec.Cmd) {}

// rusage is not reported on this system.
func rusage(*os.ProcessState) (maxRSS int64, cpu time.Duration) { return 0, 0 }
