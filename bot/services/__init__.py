"""Domain services: plain async functions that take a session and return data. No chat text here."""
