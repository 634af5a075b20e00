"""End-to-end tests: the real channel clients against fake messenger APIs on loopback."""
