"""Red flags (issue 16; verifier/reports/flags.py): each indicator fires on a hand-built log
with the entry indices, value and threshold it should cite; a clean log flags nothing; the
thresholds file is validated (``gongxin-verify --flags``, exit 2 naming the key)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from verifier.cli.main import main as verify_main
from verifier.core.errors import InputError
from verifier.reports.flag_config import SPEC, default_thresholds, load_thresholds
from verifier.reports.flag_facts import INDICATORS

from .flag_logs import award, clean_log, fired, flags_of, started, with_body
from .rulebook_ops import (
    START,
    activity_op,
    amend_op,
    approve_op,
    award_op,
    propose_op,
    redeem_op,
    resident,
)

REPO = Path(__file__).resolve().parents[1]


def test_clean_log_flags_nothing() -> None:
    """Every optional member present and every figure within its threshold: not one flag,
    not even a "not computable" marker."""
    assert flags_of(clean_log().lines) == []


def test_flag_shape_and_not_computable_markers() -> None:
    b = started()
    b.submit(award("C1", "P1", 1_000_000))
    flags = flags_of(b.lines)
    assert {f["indicator"] for f in flags} == {"GX07", "GX08", "GX09", "R003", "R018"}
    for f in flags:
        assert set(f) == {
            "indicator", "title", "value", "threshold", "unit", "basis", "indices", "ids",
            "computable",
        }  # fmt: skip
        assert f["computable"] is False and f["value"] is None and f["indices"] == f["ids"] == []
        assert "needs the optional members" in f["basis"]
        assert " · " in f["title"] and f["basis"]


def test_amendment_above_ten_percent() -> None:
    b = started()
    i = b.submit(award("C1", "P1", 1_000_000))
    a1 = b.submit(amend_op("A1", "C1", [("M1", 1_000_000), ("M2", 50_000)]))
    assert not fired(flags_of(b.lines), "GX01")  # 5 %
    a2 = b.submit(amend_op("A2", "C1", [("M1", 1_000_000), ("M2", 50_000), ("M3", 60_000)]))
    [f] = fired(flags_of(b.lines), "GX01")
    assert (f["value"], f["threshold"], f["unit"]) == (11.0, 10, "percent")
    assert f["indices"] == [i, a1, a2] and f["ids"] == ["C1", "P1"]
    assert "第四十九条" in f["basis"]
    # the peak counts: lowering the total afterwards does not hide the rise
    b.submit(amend_op("A3", "C1", [("M1", 1_000_000)]))
    assert fired(flags_of(b.lines), "GX01")[0]["value"] == 11.0
    assert not fired(flags_of(b.lines, "[amendment]\nmax_increase_percent = 12"), "GX01")


def test_split_purchase() -> None:
    b = started()
    first = b.submit(award("C1", "P2", 80_000_000))  # 800,000 yuan each
    b.at("2026-06-15")
    second = b.submit(award("C2", "P2", 80_000_000))
    b.submit(award("C3", "P1", 80_000_000))  # another provider: not part of it
    b.at("2026-07-30")
    third = b.submit(award("C4", "P2", 80_000_000))
    b.at("2026-12-01")
    b.submit(award("C5", "P2", 80_000_000))  # outside the 90-day window of C2
    [f] = fired(flags_of(b.lines), "GX02")
    assert f["indices"] == [first, second, third]
    assert (f["value"], f["threshold"], f["unit"]) == (2_400_000, 2_000_000, "yuan")
    assert f["ids"] == ["C1", "C2", "C4", "P2"]
    assert not fired(flags_of(b.lines, "[split_purchase]\nwindow_days = 30"), "GX02")


def test_repeated_direct_awards_and_non_competitive_share() -> None:
    b = started()
    idx = [b.submit(award("C1", "P1", 100_000, "单一来源"))]
    b.submit(award("C2", "P2", 100_000))
    b.at("2027-03-01")
    idx.append(b.submit(award("C3", "P1", 100_000, "竞争性磋商", bidders=1)))  # one bid
    b.at("2029-04-01")
    idx.append(b.submit(award("C4", "P1", 100_000, "单一来源")))
    flags = flags_of(b.lines)
    [f] = fired(flags, "GX03")
    assert f["indices"] == idx and (f["value"], f["threshold"]) == (3, 3)
    assert f["ids"] == ["C1", "C3", "C4", "P1"]
    assert [r["ids"][0] for r in fired(flags, "R018")] == ["C3"]
    shares = {s["ids"][0]: (s["value"], s["indices"]) for s in fired(flags, "GX04")}
    assert shares == {
        "2026": (50.0, [idx[0]]),
        "2027": (100.0, [idx[1]]),
        "2029": (100.0, [idx[2]]),
    }
    # 36 months from 2026-05-04 end before 2029-04-01 at a 30-month window
    assert not fired(flags_of(b.lines, "[direct_award]\nwindow_months = 30"), "GX03")


def test_provider_concentration() -> None:
    b = started()
    big = b.submit(award("C1", "P1", 900_000))
    small = b.submit(award("C2", "P2", 100_000))
    assert not fired(flags_of(b.lines), "GX05")  # fewer than 5 contracts: not judged
    flags = flags_of(b.lines, "[concentration]\nmin_contracts = 2")
    [top] = fired(flags, "GX05")
    assert (top["value"], top["threshold"], top["indices"]) == (90.0, 50, [big])
    assert top["ids"] == ["P1", "2026"]
    [hhi] = fired(flags, "GX06")
    assert (hhi["value"], hhi["threshold"], hhi["indices"]) == (8200, 2500, [big, small])


def test_payment_timing() -> None:
    b = started()
    c = b.submit(award("C1", "P1", 1_000_000, signed="2026-05-10"))
    early = b.submit(with_body(propose_op("Z1", "C1", "M1", 10_000), milestone_met="2026-05-20"))
    b.at("2026-07-01")
    late = b.submit(with_body(propose_op("Z2", "C1", "M1", 500_000), milestone_met="2026-05-20"))
    b.at("2026-07-03")
    approved = b.submit(approve_op("Z2"))
    flags = flags_of(b.lines)
    [before_signed] = fired(flags, "GX07")
    assert before_signed["indices"] == [c, early] and before_signed["value"] == 6  # 05-04 → 05-10
    [before_met] = fired(flags, "GX08")
    assert before_met["indices"] == [early] and before_met["value"] == 16
    [slow] = fired(flags, "GX09")
    assert slow["indices"] == [late, approved]  # counted on approval, 44 days after acceptance
    assert (slow["value"], slow["threshold"], slow["unit"]) == (44, 30, "days")
    assert slow["ids"] == ["Z2", "C1", "P1"] and "保障中小企业款项支付条例" in slow["basis"]
    assert not fired(flags_of(b.lines, "[payment]\nmax_days_after_met = 44"), "GX09")


def test_payments_just_below_the_dual_control_threshold() -> None:
    b = started()  # dual control from 100,000 fen; the band is 95,000 … 99,999
    b.submit(award("C1", "P1", 10_000_000))
    near = [b.submit(propose_op(f"Z{n}", "C1", "M1", 99_000 - n)) for n in range(3)]
    b.submit(propose_op("Z9", "C1", "M1", 94_999))  # below the band
    [f] = fired(flags_of(b.lines), "GX10")
    assert f["indices"] == near and (f["value"], f["threshold"]) == (3, 3)
    assert f["ids"] == [b.keys["finance"].key_id_hex]
    assert not fired(flags_of(b.lines, "[dual_control]\nband_percent = 0.5"), "GX10")


def test_credit_flags() -> None:
    b = started()
    ref = resident(1)
    acts = [b.submit(activity_op(f"H{n}", "Q1", "助老", "2026-05-04")) for n in range(3)]
    awards = [b.submit(award_op(ref, f"H{n}", 60)) for n in range(3)]  # 10 points each
    b.at("2026-05-05")
    redeem = b.submit(redeem_op(ref, "理发券", 20))
    b.at("2026-06-20")
    late = b.submit(award_op(resident(2), "H0", 60))  # 47 days after the activity
    toml = "[credits]\nmax_awards_per_month = 2\nlarge_award_points = 30"
    flags = flags_of(b.lines, toml)
    [many] = fired(flags, "GX11")
    assert many["indices"] == awards and (many["value"], many["threshold"]) == (3, 2)
    assert many["ids"] == [b.keys["organiser"].key_id_hex, ref, "2026-05"]
    [quick] = fired(flags, "GX13")
    assert quick["indices"] == [*awards, redeem] and (quick["value"], quick["threshold"]) == (
        30,
        30,
    )
    [slow] = fired(flags, "GX12")
    assert slow["indices"] == [acts[0], late] and (slow["value"], slow["threshold"]) == (47, 30)
    assert not fired(flags_of(b.lines), "GX11") and not fired(flags_of(b.lines), "GX13")


def test_tender_period() -> None:
    b = started()
    short = b.submit(
        award("C1", "P1", 100_000, "公开招标", tender_start="2026-04-20", tender_end="2026-04-30")
    )
    b.submit(award("C2", "P1", 100_000, "询价", tender_start="2026-04-28", tender_end="2026-04-30"))
    [f] = fired(flags_of(b.lines), "R003")
    assert f["indices"] == [short] and (f["value"], f["threshold"]) == (10, 20)


def test_entry_points_cite_the_verified_log(tmp_path: Path) -> None:
    """Through ``gongxin-verify --report``: flags in report.json and a section in report.md;
    with a clean log, none."""
    b = started()
    b.submit(award("C1", "P1", 1_000_000))
    b.submit(amend_op("A1", "C1", [("M1", 1_000_000), ("M2", 200_000)]))
    bundle = b.write_bundle(tmp_path / "bundle")
    vkey = str(b.keys.log.verifier())
    assert verify_main([str(bundle), "--log-key", vkey, "-q", "--report", str(tmp_path / "r")]) == 0
    import json

    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert [f["indicator"] for f in report["red_flags"] if f["computable"]] == ["GX01"]
    md = (tmp_path / "r" / "report.md").read_text()
    assert "红旗" in md and "GX01" in md and "不可计算" in md


# -- the thresholds file -----------------------------------------------------------------------


def test_shipped_defaults_cover_the_spec() -> None:
    text = (REPO / "verifier" / "reports" / "flags.toml").read_text()
    doc = tomllib.loads(text)
    assert {s: set(v) for s, v in doc.items()} == {s: set(v) for s, v in SPEC.items()}
    assert default_thresholds() == doc == load_thresholds(None)
    assert load_thresholds(b"[amendment]\nmax_increase_percent = 12.5\n")["amendment"] == {
        "max_increase_percent": 12.5
    }
    assert list(INDICATORS) == sorted(INDICATORS, key=lambda c: (c[0] != "G", c))


HOSTILE = {
    "unknown section": (b"[amendments]\nmax_increase_percent = 5\n", "[amendments]"),
    "unknown key": (b"[amendment]\nmax_increase = 5\n", "amendment.max_increase"),
    "string": (b'[payment]\nmax_days_after_met = "30"\n', "payment.max_days_after_met"),
    "bool": (b"[payment]\nmax_days_after_met = true\n", "payment.max_days_after_met"),
    "fraction for a count": (b"[dual_control]\nmin_count = 2.5\n", "dual_control.min_count"),
    "negative": (b"[amendment]\nmax_increase_percent = -1\n", "amendment.max_increase_percent"),
    "nan": (b"[amendment]\nmax_increase_percent = nan\n", "amendment.max_increase_percent"),
    "huge": (
        b"[credits]\nmax_award_delay_days = 99999999999999999\n",
        "credits.max_award_delay_days",
    ),
    "not a table": (b"amendment = 5\n", "amendment"),
    "bad TOML": (b"[amendment\n", "TOML"),
    "not UTF-8": (b"[amendment]\nx = '\xff'\n", "UTF-8"),
    "too large": (b"#" * (70 << 10), "larger"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_flags_files_exit_2_naming_the_key(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, named = HOSTILE[case]
    with pytest.raises(InputError, match="--flags"):
        load_thresholds(data)
    b = started()
    bundle = b.write_bundle(tmp_path / "bundle")
    (tmp_path / "flags.toml").write_bytes(data)
    args = [str(bundle), "--log-key", str(b.keys.log.verifier()), "--report", str(tmp_path / "r")]
    assert verify_main([*args, "--flags", str(tmp_path / "flags.toml")]) == 2
    err = capsys.readouterr().err
    assert "--flags" in err and named in err
    assert not (tmp_path / "r").exists()  # refused before anything was judged or written


@pytest.mark.parametrize("where", ["missing.toml", "."])
def test_unreadable_flags_file_exits_2(where: str, tmp_path: Path) -> None:
    b = started()
    bundle = b.write_bundle(tmp_path / "bundle")
    path = tmp_path / where
    args = [str(bundle), "--log-key", str(b.keys.log.verifier()), "--report", str(tmp_path / "r")]
    assert verify_main([*args, "--flags", str(path)]) == 2


def test_start_is_a_monday() -> None:
    assert START.weekday() == 0  # the windows above count from it


def test_optional_members_are_checked_when_present() -> None:
    """FORMAT.md §10.3 (version 2.1): optional members may be absent, never null or wrong;
    an unknown member is still refused."""
    from verifier.core.errors import VerificationError
    from verifier.rules.kinds import KINDS

    body = award("C1", "P1", 100).body
    KINDS["contract.award"].check_body(body, 1)
    KINDS["contract.award"].check_body({**body, "signed": "2026-01-31", "bidders": 10_000}, 1)
    for bad in ({"bidders": None}, {"bidders": 0}, {"signed": "2026-02-30"}, {"tenders": 1}):
        with pytest.raises(VerificationError) as info:
            KINDS["contract.award"].check_body({**body, **bad}, 1)
        assert info.value.rule == "entry.body"
    pay = propose_op("Z1", "C1", "M1", 1).body
    KINDS["payment.propose"].check_body({**pay, "acceptance_sha256": "0" * 64}, 1)
    with pytest.raises(VerificationError):
        KINDS["payment.propose"].check_body({**pay, "milestone_met": None}, 1)
    with pytest.raises(VerificationError):  # optional members of another kind
        KINDS["payment.propose"].check_body({**pay, "signed": "2026-01-31"}, 1)
