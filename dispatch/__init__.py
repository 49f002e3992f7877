"""Dispatch: RQ jobs that act on decisions, tasks and their context, and the agent console."""
