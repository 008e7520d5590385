package evidence

// WithoutEnv makes New read neither CTXTRAIL_EVIDENCE nor CTXTRAIL_EVIDENCE_SLOW: the options
// alone arm the Recorder. otelconfig's Config.Evidence passes it, because a configuration file
// replaces the environment (a file names a variable as ${VAR} to use it).
func WithoutEnv() Option {
	return optionFunc(func(c config) config {
		c.getenv = func(string) string { return "" }
		return c
	})
}
