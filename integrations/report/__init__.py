"""The daily situation report's files: charts (matplotlib), Markdown and HTML, and ``make_report``.

Importing this package is cheap; matplotlib is imported only when charts are drawn.
"""
