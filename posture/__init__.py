"""Posture: the security posture of a fleet of Kubernetes clusters, over time."""
