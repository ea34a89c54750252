"""The audit trail: who did what to which object, when, from where, and whether it was allowed."""
