"""The domain: recording polls, scoring, risk acceptance, digest, audit, and their tasks."""
