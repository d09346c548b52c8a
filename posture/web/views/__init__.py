"""Posture's pages, one module per page family."""
