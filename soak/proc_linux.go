package main

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

// dieWithParent kills the child if the soak dies, so no collector or load
// generator outlives an interrupted run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

func rusage(ps *os.ProcessState) (maxRSS int64, cpu time.Duration) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0
	}
	// Linux reports Maxrss in KiB.
	return ru.Maxrss * 1024, time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
