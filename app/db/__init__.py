"""Database plumbing: engine, sessions, the declarative base. No business rules here."""
