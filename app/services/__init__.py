"""Use cases and rules. `core` is the IM; `ai` plugs into it and is never imported by it."""
