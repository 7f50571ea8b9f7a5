"""The collector settings of long runs (verifier/cli/runtime.py), checked in a fresh process
so that the test session's own collector is left alone."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json
from verifier.cli.runtime import YOUNG_THRESHOLD, tune_for_long_lived_heap
before = gc.get_freeze_count()
state = [[k] for k in range(50_000)]  # a replayed state, say (lists are tracked)
tune_for_long_lived_heap()
frozen = gc.get_freeze_count()
cycle = []
cycle.append(cycle)  # cyclic garbage made later is still collected
del cycle
print(json.dumps([before, frozen, gc.get_threshold(), YOUNG_THRESHOLD, gc.collect()]))
"""


def test_tuning_freezes_what_exists_and_makes_young_collections_rare() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    before, frozen, threshold, young, collected = json.loads(out.stdout)
    assert before == 0 and frozen >= 50_000
    assert threshold == [young, 50, 100] and young == 100_000
    assert collected >= 1  # the later cycle: frozen objects are not walked, new ones are


def test_gongxin_verify_tunes_itself_but_in_process_callers_keep_their_collector() -> None:
    probe = (
        "import gc, sys; from verifier.cli.main import main; "
        "sys.argv = ['gongxin-verify', '--help']; main(); t1 = gc.get_threshold(); "
        "gc.set_threshold(700, 10, 10); main(['--help']); "
        "print(t1[0], gc.get_threshold()[0])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["100000", "700"], out.stdout[-500:]
