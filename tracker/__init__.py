"""The collector: wire schemas, write keys, limits, writing to the event streams; the visitor inbox."""
