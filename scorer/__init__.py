"""The scorer: consumes the event streams, keeps live sessions, scores them, hands snapshots to rules."""
