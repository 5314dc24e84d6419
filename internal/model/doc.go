// Package model holds Paceline's configuration and observed status as plain
// Go values: nodes, resources (primitives, groups, clones), constraints,
// cluster properties, and the per-node operation history the scheduler reads.
//
// The package imports only the standard library. Every other layer (the CIB
// importer, the scheduler, the replicated store) speaks in these types.
//
// Scores follow Pacemaker's arithmetic: Infinity is 1,000,000, and sums
// saturate at ±Infinity with -Infinity winning over +Infinity (see AddScores).
package model
