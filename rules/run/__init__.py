"""Running rules: the tests inside rule files, backtests and their sharded form."""
