//go:build tools

// Package tools pins the upstream Kubernetes commands this module builds; no Kubernetes source is copied.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
