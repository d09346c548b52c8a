"""The checks, one module per category; ``posture.checks.catalog`` gathers them."""
