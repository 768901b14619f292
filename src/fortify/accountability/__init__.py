"""Accountability: hash-chained audit log, operators and roles, purpose policy, retention."""
