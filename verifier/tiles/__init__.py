"""C2SP tlog-tiles (https://c2sp.org/tlog-tiles; FORMAT.md §13), pure (stdlib only): tile
coordinates and paths (:mod:`.paths`), tile and entry-bundle bytes (:mod:`.codec`) and a
reader that authenticates every tile it uses against a checkpoint's root (:mod:`.reader`).

A layer beside ``verifier.audit`` that imports only ``verifier.core``, so that clients,
witnesses and monitors can check tiles without the server stack. Serving tiles is
``api.routes_tiles``; reading them from stored nodes is ``ledger.tiles``.
"""
