"""The rule language: loading rule files, validating them, and the typed AST they parse into."""
