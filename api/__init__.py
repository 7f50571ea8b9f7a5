"""Gongxin's HTTP API (docs/API.md): FastAPI over one :class:`ledger.log.Ledger`.

``create_app`` (in :mod:`api.app`) builds the application; ``gongxin serve`` runs it under
uvicorn. Modules, one purpose each:

- :mod:`api.settings`   what the server is configured with;
- :mod:`api.problems`   RFC 9457 ``application/problem+json`` errors, Chinese and English;
- :mod:`api.jsonbody`   reading request bodies: size limit, strict JSON, canonical submissions;
- :mod:`api.sequencer`  the single writer: group commit of concurrent submissions;
- :mod:`api.receipts`   receipts with inclusion proofs;
- :mod:`api.ratelimit`  throttling resident look-ups;
- ``api.routes_*``      the routes, by audience.
"""
