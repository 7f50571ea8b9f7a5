"""Reports written from a verified log (FORMAT.md §10.6): figures, traceability, tracing,
Markdown. They sit around the core: they watch a verification through the
:class:`~verifier.audit.bundle.Observer` protocol and never decide validity."""
