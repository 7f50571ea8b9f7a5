"""The log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles; FORMAT.md §13): ``/checkpoint``,
``/tile/<L>/<N>[.p/<W>]`` and ``/tile/entries/<N>[.p/<W>]`` at the server's root, the prefix a
tiles client is given. The same files ``gongxin tiles DIR`` writes for a static server.

Caching (spec: checkpoints "SHOULD prevent caching beyond a few seconds", tiles are
immutable): full tiles and bundles are ``immutable`` for a year; partial ones and the
checkpoint get a short ``max-age``. A malformed path is 400, a tile the tree does not have
(yet) 404, both problem+json.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse, Response

from api.problems import Problem
from api.state import ServerState, server
from ledger.tiles import tile_bytes
from verifier.core.errors import InputError
from verifier.tiles.paths import parse_path

router = APIRouter(tags=["瓦片 tiles (C2SP tlog-tiles)"])
State = Annotated[ServerState, Depends(server)]
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=5"
"""Checkpoint and partial tiles: a few seconds, as the spec asks of the checkpoint."""


@router.get(
    "/checkpoint",
    summary="检查点 Latest checkpoint (C2SP tlog-tiles)",
    response_class=PlainTextResponse,
)
def checkpoint(st: State) -> PlainTextResponse:
    """The latest checkpoint; with ``--witness-policy`` the newest one its quorum cosigned,
    with the cosignatures (as Sunlight and Tessera publish only witnessed checkpoints), or
    the latest log-signed one while none is witnessed yet. Tiles are served for the latest
    size; a partial tile's bytes never change, so a client of an older checkpoint reads the
    same tiles."""
    latest = st.sync()[1]
    witnessed = st.witnessed()
    return PlainTextResponse(
        latest if witnessed is None else witnessed[1],
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": SHORT},
    )


@router.get(
    "/tile/{path:path}",
    summary="瓦片 Hash tile or entry bundle (C2SP tlog-tiles)",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def tile(path: str, st: State) -> Response:
    """The tile at ``tile/<path>`` in the tree of the latest checkpoint. Cost: one indexed
    read of ≤ 256 nodes or lines."""
    try:
        coords = parse_path("tile/" + path)
    except InputError as exc:
        raise Problem(400, "tile.path", f"瓦片路径无效 {exc.message}", field="path") from None
    size = st.sync()[0]
    with st.ledger.store.reading() as reader:
        data = tile_bytes(reader, coords, size)
    if data is None:
        raise Problem(
            404,
            "not_found",
            f"树（{size} 个条目）中没有瓦片 {coords.path}; the tree of size {size} has no such tile",
            field="path",
        )
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Cache-Control": SHORT if coords.partial else IMMUTABLE},
    )
