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

// Accounted returns the bytes the processor weighs against its budget (its
// queue, the batch being handed over, the core's bytes as last read) and an
// independent reading: the core's bytes now, then the queue's. The second
// never counts a batch twice, so it may miss the one being handed over,
// never more.
func Accounted(sp *SpanProcessor) (weighed, now int64) {
	core := sp.p.BufferedBytes()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.q.bytes + sp.handing + sp.core, sp.q.bytes + core
}

// DroppedRoots is how many run roots' starts and ends were dropped.
func DroppedRoots(sp *SpanProcessor) int64 {
	return sp.dropped[spanRoot][reasonQueueFull].Load() + sp.dropped[spanRoot][reasonBufferFull].Load()
}

// DropFreeChunks lets go of the emptied queue chunks kept for reuse: how
// many there are follows the queue's peak (up to maxFreeChunks), not what
// open runs hold, which a heap measurement wants alone.
func DropFreeChunks(sp *SpanProcessor) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.q.free, sp.q.nfree = nil, 0
}
