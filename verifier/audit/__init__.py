"""Judging an export bundle (FORMAT.md §8, §9): the replay procedure and its verdict.

- :mod:`verifier.audit.lines`    reading ``entries.jsonl`` in bounded chunks of lines
- :mod:`verifier.audit.bundle`   :class:`~verifier.audit.bundle.BundleAudit`, steps 1–5
- :mod:`verifier.audit.verdict`  the reports ``--json`` writes

Above the core and the rules, below the reports and the command line.
"""
