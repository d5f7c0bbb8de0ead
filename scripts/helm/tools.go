//go:build tools

// Package tools pins the upstream helm command the chart tests render with; no helm source is copied.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
