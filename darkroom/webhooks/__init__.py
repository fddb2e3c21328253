"""Telling applications that a job finished: signed, retried, persisted deliveries."""
