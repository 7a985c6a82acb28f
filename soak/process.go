package main

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// errKilled says a child did not exit in time: a finding about the front
// end, not a failure of the soak.
var errKilled = errors.New("did not exit in time and was killed")

// process is a child: a load generator or a collector.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's, once done is closed
}

func startProcess(name, bin string, args, env []string, stdout, stderr io.Writer) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, stdout, stderr
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitUntil waits for the process to exit until t, then kills it, and
// returns its exit error.
func (p *process) waitUntil(t time.Time) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(time.Until(t)):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s: %w", p.name, errKilled)
	}
}

// killGrace is how long a child may overrun its deadline: a shutdown in
// progress closes runs, which the soak wants to see.
const killGrace = 30 * time.Second

// stop sends SIGTERM and waits, killing the process after killGrace.
func (p *process) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	return p.waitUntil(time.Now().Add(killGrace))
}

// usage is the peak RSS and CPU time of an exited process.
func (p *process) usage() (maxRSS int64, cpu time.Duration) {
	if p.cmd.ProcessState == nil {
		return 0, 0
	}
	return rusage(p.cmd.ProcessState)
}
