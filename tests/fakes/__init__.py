"""Fake messenger APIs on loopback for end-to-end tests."""
