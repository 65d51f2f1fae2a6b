"""The ingest: departmental items fetched, mapped, stored and the source's cursor advanced.

Its speed work (read-ahead, the garbage-collector pause, the C twins of the per-record functions)
stays inside this package.
"""
