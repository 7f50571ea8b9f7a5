"""C2SP witness cosignatures (tlog-cosignature), opening only: a layer beside ``audit``
that imports only ``verifier.core`` (FORMAT.md §14)."""
