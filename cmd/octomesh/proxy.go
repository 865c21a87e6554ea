package main

import "github.com/octomesh/octomesh/cmd/internal/proxycmd"

func runProxy(args []string) error { return proxycmd.Run(args, version) }
