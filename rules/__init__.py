"""The rule language: parsing with line numbers, validation, evaluation on a snapshot, policies."""
