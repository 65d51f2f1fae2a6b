"""Repository functions, one module per concept; every function is keyword-only with an explicit session."""
