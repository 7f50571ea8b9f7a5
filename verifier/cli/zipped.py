"""Export bundles as one zip file (the server's ``GET /v1/log/export``, docs/API.md §3).

:func:`bundle_directory` lets ``gongxin-verify`` take the downloaded zip as it is: the three
bundle files (FORMAT.md §9) are extracted — by their base names, from the archive's top level
or one folder, never by the paths the archive claims — into a private temporary directory
that is removed afterwards. Anything else in the archive is ignored. Stdlib only.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from verifier.core.bundle import BUNDLE_FILES
from verifier.core.errors import InputError


@contextmanager
def bundle_directory(path: Path) -> Iterator[Path]:
    """``path`` itself if it is a directory; for a zip file, a temporary directory holding its
    bundle files. Raises :class:`InputError` for a zip that is damaged or lacks
    ``entries.jsonl`` or ``checkpoint``, or holds one of them twice. Cost: O(archive size)."""
    if path.is_dir() or not path.is_file() or not zipfile.is_zipfile(path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="gongxin-verify-") as tmp:
        out = Path(tmp)
        try:
            with zipfile.ZipFile(path) as zf:
                found: dict[str, zipfile.ZipInfo] = {}
                for info in zf.infolist():
                    name = PurePosixPath(info.filename)
                    if info.is_dir() or len(name.parts) > 2 or name.name not in BUNDLE_FILES:
                        continue
                    if name.name in found:
                        raise InputError(f"the zip holds {name.name} twice", field=str(path))
                    found[name.name] = info
                for required in BUNDLE_FILES[:2]:
                    if required not in found:
                        raise InputError(
                            f"not an export bundle: the zip has no {required}", field=str(path)
                        )
                for base, info in found.items():
                    with zf.open(info) as src, (out / base).open("wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(f"cannot read the zip: {exc}", field=str(path)) from None
        yield out
