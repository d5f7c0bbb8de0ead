module github.com/aci-burst/connector/spdy/testdata/spdystream-peer

go 1.26.0

require github.com/moby/spdystream v0.5.1
