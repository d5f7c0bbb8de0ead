//go:build tools

// Package tools pins the upstream Kubernetes commands this module builds (kubectl too, so the tests
// use a client of the same release); no Kubernetes source is copied.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
