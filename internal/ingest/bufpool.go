package ingest

import (
	"bytes"
	"io"
	"sync/atomic"
)

// bodyReaders hands out readers over one request body and counts the
// writes the transport reports as finished (httptrace's WroteRequest, which
// HTTP/1 and HTTP/2 call once a request's body is no longer read, whether
// the write succeeded or not). A RoundTripper may read a body after it
// returns, so the bytes are reused only once every reader handed out has
// been written through.
//
// The readers are io.NopCloser(*bytes.Reader): net/http sends such a body
// in the same write as the headers; any other type makes it flush the
// headers first, one more write per request.
type bodyReaders struct {
	data          []byte
	handed, wrote atomic.Int64
}

func (b *bodyReaders) reader() io.ReadCloser {
	b.handed.Add(1)
	return io.NopCloser(bytes.NewReader(b.data))
}

// released reports whether the transport is done with every reader.
func (b *bodyReaders) released() bool { return b.wrote.Load() >= b.handed.Load() }

// maxPooledBuffer keeps one huge call from pinning its memory in the pool.
const maxPooledBuffer = 4 << 20

func (c *Client) getBuf() *bytes.Buffer {
	if b, ok := c.bufs.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func (c *Client) putBuf(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	c.bufs.Put(b)
}
