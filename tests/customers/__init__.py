"""Tests of the customer-file domain (core.customers)."""
