"""The 考核 report: how each district and street handled its warnings, tasks, visits and cases (pure).

``period`` names the week or month reported; ``views`` are the plain inputs the store builds; ``compute``
turns them into figures per node; ``score`` ranks the nodes by a composite score whose weights are data.
"""
