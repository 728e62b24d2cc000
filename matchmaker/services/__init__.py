"""State-changing verbs. Services flush, log and audit; the caller commits once."""
