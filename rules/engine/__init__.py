"""The rule engine: matching conditions, event-time windows, sequences, absences, chaining, explanations."""
