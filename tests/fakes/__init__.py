"""Test fakes: local servers that speak real wire protocols on loopback (never shipped in images)."""
