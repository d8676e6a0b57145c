"""Feature builders: series frames, calendars, customer snapshots (SQL-first)."""
