"""SQLite state (the only package that imports sqlite3 / sqlite_utils)."""
