"""Bring your own RTL: the cocotb harness (backends/harness.py) with three adapters.

seedcc's own RTL through `SeedccAdapter`, the example's differently named top level
(examples/byo_rtl/npu_top.v) through its `NpuAdapter`, and a deliberately broken adapter
whose failure must name the first wrong output word and the waveform file.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from seedcc.backends.byo_rtl import verify_rtl
from seedcc.backends.vectors import load_vectors

pytestmark = pytest.mark.rtl

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "byo_rtl" / "run_example.py"


def _example():
    spec = importlib.util.spec_from_file_location("byo_run_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


example = _example()


@pytest.fixture(scope="module")
def vector_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return example.write_example_vectors(tmp_path_factory.mktemp("vectors"), samples=2)


def test_seedcc_rtl_is_the_first_adapter(vector_dirs: list[Path], tmp_path: Path) -> None:
    outcome = verify_rtl(vector_dirs, tmp_path)
    assert outcome.ok, outcome.message
    assert outcome.cycles == [load_vectors(d).expected_cycles for d in vector_dirs]


def test_example_top_level_passes_through_its_adapter(vector_dirs: list[Path],
                                                      tmp_path: Path) -> None:
    outcome = example.run_npu(vector_dirs, tmp_path)
    assert outcome.ok, outcome.message
    assert outcome.cycles == [load_vectors(d).expected_cycles for d in vector_dirs]


def test_broken_adapter_names_first_wrong_word_and_waveform(vector_dirs: list[Path],
                                                            tmp_path: Path) -> None:
    outcome = example.run_npu(vector_dirs, tmp_path, adapter="npu_adapter:OffByOneAdapter")
    assert not outcome.ok
    out = load_vectors(vector_dirs[0]).outputs[0]
    exp, n = out.expected, out.word_bytes
    # the adapter reads byte j + 1 for byte j: the first word that differs from the n bytes
    # one further on (words of n bytes: 4 for the int32 logits)
    first = next(i for i in range(len(exp) // n - 1) if exp[n * i:n * i + n] != exp[n * i + 1:n * i + n + 1])
    assert (f"output {out.name!r}: first wrong output word is word {first} of {len(exp) // n} "
            f"(DRAM address {out.dram_addr + n * first:#x})") in outcome.message
    assert outcome.waves_file is not None and outcome.waves_file.exists()
    assert f"waveform {outcome.waves_file}" in outcome.message
    assert str(vector_dirs[0]) in outcome.message
