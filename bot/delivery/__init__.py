"""Outbox delivery: claim due rows, send them through the person's channel, record the outcome."""
