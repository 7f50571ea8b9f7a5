"""Red-flag thresholds: the shipped defaults (``flags.toml`` beside this module) and the
checked overrides an evaluator gives with ``gongxin-verify --flags FILE``.

:func:`load_thresholds` parses a TOML document (:mod:`tomllib`, standard library) and merges it
over the defaults. Every key must be one of :data:`SPEC` with a value of the right type in its
range; anything else raises :class:`~verifier.core.errors.InputError` naming the key
(``gongxin-verify`` exits 2). Pure, no I/O but reading the package's own defaults file.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

from verifier.core.errors import InputError

__all__ = ["SPEC", "Thresholds", "default_thresholds", "load_thresholds"]

#: section → key → (allows a fraction, minimum, maximum). Percentages may be fractions;
#: counts, days and money (yuan) are integers.
SPEC: dict[str, dict[str, tuple[bool, float, float]]] = {
    "amendment": {"max_increase_percent": (True, 0, 1000)},
    "split_purchase": {
        "open_tender_threshold_yuan": (False, 1, 10**11),
        "window_days": (False, 1, 3660),
    },
    "direct_award": {
        "min_awards": (False, 2, 1000),
        "window_months": (False, 1, 240),
        "max_share_percent": (True, 0, 100),
    },
    "concentration": {
        "max_provider_share_percent": (True, 0, 100),
        "max_hhi": (True, 0, 10_000),
        "min_contracts": (False, 1, 10**6),
    },
    "payment": {"max_days_after_met": (False, 0, 3660)},
    "dual_control": {"band_percent": (True, 0, 100), "min_count": (False, 1, 10**6)},
    "credits": {
        "max_awards_per_month": (False, 1, 10**6),
        "max_award_delay_days": (False, 0, 60),
        "redeem_window_days": (False, 1, 366),
        "large_award_points": (False, 1, 10**9),
    },
    "tender": {"min_tender_days": (False, 1, 366)},
}

#: The largest ``--flags`` file read (a thresholds file is a few hundred bytes).
MAX_FLAGS_BYTES = 64 << 10

Thresholds = dict[str, dict[str, float]]


def _check(doc: dict[str, Any], where: str) -> Thresholds:
    """``doc`` checked against :data:`SPEC` (a subset of its keys). Raises InputError."""
    out: Thresholds = {}
    for section, values in doc.items():
        spec = SPEC.get(section)
        if spec is None:
            raise InputError(
                f"unknown section [{section}]; known: {', '.join(SPEC)}; 未知的阈值节", field=where
            )
        if not isinstance(values, dict):
            raise InputError(f"{section} must be a table [{section}]; 须为表", field=where)
        for key, value in values.items():
            name = f"{section}.{key}"
            if key not in spec:
                raise InputError(
                    f"unknown key {name}; known in [{section}]: {', '.join(spec)}; 未知的阈值项",
                    field=where,
                )
            fraction, lo, hi = spec[key]
            kinds: tuple[type, ...] = (int, float) if fraction else (int,)
            if type(value) not in kinds or not lo <= value <= hi:
                what = "a number" if fraction else "an integer"
                raise InputError(
                    f"{name} must be {what} from {lo:g} to {hi:g}, not {value!r}; 阈值类型或范围错误",
                    field=where,
                )
            out.setdefault(section, {})[key] = value
    return out


def default_thresholds() -> Thresholds:
    """The shipped defaults (``verifier/reports/flags.toml``), checked like any file, with
    every key of :data:`SPEC` present. O(1)."""
    text = resources.files("verifier.reports").joinpath("flags.toml").read_text("utf-8")
    out = _check(tomllib.loads(text), "flags.toml")
    missing = [f"{s}.{k}" for s, keys in SPEC.items() for k in keys if k not in out.get(s, {})]
    if missing:  # a packaging bug, never the user's input
        raise RuntimeError(f"flags.toml lacks {', '.join(missing)}")
    return out


def load_thresholds(data: bytes | None, where: str = "--flags") -> Thresholds:
    """The defaults overridden by the TOML document ``data`` (``None``: the defaults).

    Raises :class:`InputError` (field ``where``) for a document that is not UTF-8 TOML, an
    unknown section or key, or a value of the wrong type or out of range. O(size of data)."""
    base = default_thresholds()
    if data is None:
        return base
    if len(data) > MAX_FLAGS_BYTES:
        raise InputError(f"larger than {MAX_FLAGS_BYTES} bytes; 文件过大", field=where)
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text; 须为 UTF-8 文本", field=where) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}; TOML 语法错误", field=where) from None
    for section, values in _check(doc, where).items():
        base[section].update(values)
    return base
