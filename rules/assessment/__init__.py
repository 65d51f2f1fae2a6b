"""Scoring schemes of the social stability risk assessment (``*.yaml`` here) and their loader."""
