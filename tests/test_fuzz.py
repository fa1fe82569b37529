"""Property tests: whatever one mutation does to a valid model, program or input file,
seedcc keeps its robustness contract (tests/fuzzing.py lists the properties, and
tests/mutators.py the mutation classes).

Hypothesis draws the mutations (derandomized, so CI runs the same examples every time);
the default suite gives each class a short budget. `benchmarks/fuzz_campaign.py` runs the
same classes for tens of thousands of cases and prints counts per class.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from fuzzing import FILE_SUFFIXES, LIMIT, execute, make_case, write_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutators import CLASSES

from seedcc.limits import ENV

EXAMPLES_PER_CLASS = 20


@pytest.mark.parametrize("cls", sorted(CLASSES))
@settings(max_examples=EXAMPLES_PER_CLASS, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(rnd=st.randoms(use_true_random=False))
def test_mutations_keep_the_contract(cls: str, rnd: random.Random) -> None:
    outcome = execute(make_case(cls, rnd))
    assert not outcome.problems(), outcome.describe()


#: (class, case number) of cases run as real processes: exit code and stderr end to end
END_TO_END = [("model.structure", 3), ("model.initializers", 5), ("model.shapes", 1),
              ("program.config", 2), ("program.manifest", 4), ("input.values", 0),
              ("input.structure", 2), ("paths", 6)]


def test_mutated_cases_in_a_real_process() -> None:
    """A few cases through `python -m seedcc.cli`, all started at once: the exit code is
    0, 1 or 2 and stderr holds no traceback, only progress lines and one error line."""
    started = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (cls, n) in enumerate(END_TO_END):
            case = make_case(cls, random.Random(f"{cls}-{n}"))
            folder = Path(tmp) / str(i)
            folder.mkdir()
            write_case(folder, case)
            argv = [str(folder / a) if a in case.files or a.endswith(FILE_SUFFIXES) else a
                    for a in case.argv]
            env = {**os.environ, ENV: str(LIMIT)}
            proc = subprocess.Popen([sys.executable, "-m", "seedcc.cli", *argv], cwd=folder,
                                    text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=env)
            started.append((case, proc))
        for case, proc in started:
            _, err = proc.communicate(timeout=300)
            assert proc.returncode in (0, 1, 2), f"{case}: exit {proc.returncode}\n{err}"
            assert "Traceback" not in err and "Warning" not in err, f"{case}:\n{err}"
            lines = err.splitlines()
            if proc.returncode:
                assert lines and lines[-1].startswith("seedcc: error: "), f"{case}:\n{err}"
                assert all(line.startswith("  ") for line in lines[:-1]), f"{case}:\n{err}"
