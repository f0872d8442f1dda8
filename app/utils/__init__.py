"""Pure helpers that import nothing from `app`."""
