"""The product owner's figures, read from hourly counters that each stage keeps under its own keys."""
