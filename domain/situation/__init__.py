"""The daily situation report (日报): plain views of warnings and their audit, and the pure computation.

``views`` holds the dataclasses the computation reads (built from store rows, or by hand in tests);
``compute`` turns them into a :class:`~domain.situation.compute.SituationReport` for one Asia/Shanghai day.
"""
