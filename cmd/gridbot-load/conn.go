package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// wireConn is one user's keep-alive HTTP/1.1 connection to the webhook,
// written by hand: net/http's Transport (a reader and a writer goroutine
// per connection, channels between them) costs the generator about twice
// its CPU per message, and on the pinned bench the generator has one core
// against the server's one. Requests go one at a time, as from one WeChat
// user.
type wireConn struct {
	addr string // host:port to dial
	conn net.Conn
	br   *bufio.Reader
	req  []byte       // request being written
	body bytes.Buffer // last reply's body
}

// post sends a POST of body to target (path and query) and returns the
// status and the reply body, valid until the next post. A keep-alive
// connection the server closed before answering is redialled once: the
// request is sent again with the same MsgId, as WeChat retries.
func (c *wireConn) post(target string, body []byte, timeout time.Duration) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		reused := c.conn != nil
		status, reply, err := c.try(target, body, timeout)
		if err == nil {
			return status, reply, nil
		}
		c.close()
		if !reused || attempt > 0 || !closedByPeer(err) {
			return 0, nil, err
		}
	}
}

func (c *wireConn) try(target string, body []byte, timeout time.Duration) (int, []byte, error) {
	deadline := time.Now().Add(timeout)
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, timeout)
		if err != nil {
			return 0, nil, err
		}
		c.conn = conn
		if c.br == nil {
			c.br = bufio.NewReaderSize(conn, 4096)
		} else {
			c.br.Reset(conn)
		}
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return 0, nil, err
	}
	r := append(c.req[:0], "POST "...)
	r = append(r, target...)
	r = append(r, " HTTP/1.1\r\nHost: "...)
	r = append(r, c.addr...)
	r = append(r, "\r\nUser-Agent: gridbot-load\r\nContent-Type: text/xml\r\nContent-Length: "...)
	r = strconv.AppendInt(r, int64(len(body)), 10)
	r = append(r, "\r\n\r\n"...)
	r = append(r, body...)
	c.req = r
	if _, err := c.conn.Write(r); err != nil {
		return 0, nil, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, nil, err
	}
	c.body.Reset()
	_, err = c.body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, nil, err
	}
	if resp.Close {
		c.close()
	}
	return resp.StatusCode, c.body.Bytes(), nil
}

func (c *wireConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// closedByPeer reports whether err is a connection the server closed
// (idle keep-alive timeout) rather than a timeout or a refused dial.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
