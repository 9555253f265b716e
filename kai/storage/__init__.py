"""Where uploaded files live: blob stores, scanner, text search."""
