package builtin

// Types lists the builtin agents Run knows, for the agent catalogue
// (`paceline resource agents builtin`).
func Types() []string { return []string{"dummy", "process", "vip", "ping", "vm", "postgresql"} }
