// Package daemon is the one wiring package (DESIGN.md, Layers): it builds
// every subsystem of `paceline agent` from its Config and starts and stops
// them in order. Today it holds the agent's configuration (config.go):
// the YAML file, PACELINE_* environment and flags, validated with one
// message per problem naming the key and where its value came from.
package daemon
