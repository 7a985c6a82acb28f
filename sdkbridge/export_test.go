package sdkbridge

// PauseWorker makes the processor's worker stop taking spans off its queue
// until release is called, so that tests can fill the queue.
func PauseWorker(sp *SpanProcessor) (release func()) {
	ch := make(chan struct{})
	sp.mu.Lock()
	sp.pause = ch
	sp.mu.Unlock()
	return func() {
		sp.mu.Lock()
		sp.pause = nil
		sp.mu.Unlock()
		close(ch)
	}
}
