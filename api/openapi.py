"""The OpenAPI document, with every error reply documented as RFC 9457
``application/problem+json`` (docs/API.md §1).

FastAPI documents request-validation failures as ``422`` with its own JSON body; this API
answers them ``400`` with a problem body. :func:`install` replaces the generator so each
operation lists exactly the problem statuses it can return:

- every operation: 400 (bad parameter) and 503 (log not ready or unavailable);
- operations with path parameters, and resident look-ups: 404;
- writes (POST): 409, 413, 415, 422 — and look-ups 413, 415, 429;
- and no operation keeps FastAPI's ``422`` validation schema unless it can really answer 422.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.models import ProblemBody
from api.problems import PROBLEM_JSON, TITLES

_WRITE = ("/v1/statements", "/v1/statements/batch")
_LOOKUP = "/v1/residents/lookup"


def _statuses(path: str, method: str) -> list[int]:
    out = [400, 503]
    if "{" in path or path == _LOOKUP:
        out.append(404)
    if method == "post" and path in _WRITE:
        out += [409, 413, 415, 422]
    if path == _LOOKUP:
        out += [413, 415, 429]
    return sorted(out)


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the document described above (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        problem = ProblemBody.model_json_schema()
        for path, item in doc.get("paths", {}).items():
            for method, op in item.items():
                responses = op.setdefault("responses", {})
                responses.pop("422", None)
                for status in _statuses(path, method):
                    responses[str(status)] = {
                        "description": f"{TITLES[status][0]} {TITLES[status][1]}",
                        "content": {PROBLEM_JSON: {"schema": problem}},
                    }
        schemas = doc.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
