"""Who may do what: passwords, tokens, API keys, permission checks, rate limits, audit."""
