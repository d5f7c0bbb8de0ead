// Command etcd runs the upstream etcd server; etcd's own main module carries replace
// directives, so `go install` of it fails and this wrapper calls its entry point instead.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
