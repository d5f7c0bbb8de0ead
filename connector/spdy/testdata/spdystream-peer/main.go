// A peer built on github.com/moby/spdystream, the SPDY library of the Kubernetes API server and kubectl,
// for connector/spdy/go-interop.test.ts.
//
//	client <port>  POSTs an `Upgrade: SPDY/3.1` request as the API server does for exec, pings, opens the
//	               streams error, stdin and stdout, writes on each and expects its bytes echoed.
//	mirror         prints a port, then serves one SPDY connection that echoes every stream.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/moby/spdystream"
)

func check(err error, what string) {
	if err != nil {
		fmt.Printf("FAIL %s: %v\n", what, err)
		os.Exit(1)
	}
}

func client(port string) {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 5*time.Second)
	check(err, "dial")
	check(conn.SetDeadline(time.Now().Add(20*time.Second)), "deadline")
	fmt.Fprint(conn, "POST /exec/ns/pod/c?command=cat&stdin=1&stdout=1 HTTP/1.1\r\nHost: node\r\n"+
		"Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n")
	response, err := http.ReadResponse(bufio.NewReader(conn), nil)
	check(err, "read the upgrade response")
	fmt.Printf("ok upgrade %d %s\n", response.StatusCode, response.Header.Get("X-Stream-Protocol-Version"))
	spdy, err := spdystream.NewConnection(conn, false)
	check(err, "spdystream connection")
	go spdy.Serve(spdystream.NoOpStreamHandler)
	for i := 0; i < 2; i++ {
		_, err := spdy.Ping()
		check(err, "ping")
	}
	fmt.Println("ok ping")
	for _, kind := range []string{"error", "stdin", "stdout"} {
		stream, err := spdy.CreateStream(http.Header{"streamtype": {kind}}, nil, false)
		check(err, "create stream")
		check(stream.WaitTimeout(5*time.Second), "wait for the reply to "+kind)
		payload := bytes.Repeat([]byte(kind), 1<<20/len(kind))
		go func() {
			_, _ = stream.Write(payload)
			_ = stream.Close()
		}()
		echoed, err := io.ReadAll(stream)
		check(err, "read "+kind)
		if !bytes.Equal(echoed, payload) {
			check(fmt.Errorf("%d bytes back of %d", len(echoed), len(payload)), "echo on "+kind)
		}
		fmt.Printf("ok echo %s %d\n", kind, len(echoed))
	}
	check(spdy.Close(), "close")
}

func mirror() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	check(err, "listen")
	fmt.Println(listener.Addr().(*net.TCPAddr).Port)
	conn, err := listener.Accept()
	check(err, "accept")
	spdy, err := spdystream.NewConnection(conn, true)
	check(err, "spdystream connection")
	spdy.Serve(spdystream.MirrorStreamHandler)
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "client" {
		client(os.Args[2])
	} else if len(os.Args) == 2 && os.Args[1] == "mirror" {
		mirror()
	} else {
		fmt.Println("usage: spdystream-peer client <port> | mirror")
		os.Exit(2)
	}
}
