"""The read-only JSON API under /api/v1/: what a user sees on the pages, as data."""
