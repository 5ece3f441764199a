"""Getting recordings in: URL fetching (and, with it, the outbound network guard)."""
