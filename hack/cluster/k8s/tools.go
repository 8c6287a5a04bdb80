//go:build tools

// Package tools pins the Kubernetes commands this module builds (see ../cluster.sh).
package tools
