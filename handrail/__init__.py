"""Handrail's composition root: configuration, app factory, CLI, Redis and the embedded server."""
