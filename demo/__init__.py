"""A small demo shop that embeds the Handrail snippet, for demos and browser tests."""
