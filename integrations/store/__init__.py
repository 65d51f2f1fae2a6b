"""The store: tables, migrations wiring and repositories (SQLModel on SQLite and PostgreSQL).

Persistence is an integration: the domain decides, this package records. ``db`` opens and migrates a
store; one module per family of rows (records, warnings, outbox, audit, assessments, ...).
"""
