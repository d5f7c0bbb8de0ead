//go:build tools

// Package tools pins the upstream metrics-server command the end-to-end tests run against the local
// cluster; no metrics-server source is copied.
package tools

import (
	_ "sigs.k8s.io/metrics-server/cmd/metrics-server"
)
