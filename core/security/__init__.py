"""Passwords, roles and the one role matrix every endpoint is checked against."""
