"""The four card folders install as seedcc.* and nothing generic lands at the top level."""

import importlib
import importlib.util
import subprocess
import sys

import pytest


@pytest.mark.parametrize("name", ["seedcc.ir", "seedcc.compiler", "seedcc.backends", "seedcc.rtl_models"])
def test_card_packages_import_under_seedcc(name):
    assert importlib.import_module(name).__name__ == name


@pytest.mark.parametrize("name", ["ir", "compiler", "backends", "rtl_models"])
def test_no_generic_top_level_package(name):
    # run in a fresh interpreter from a neutral folder so the repo root is not on sys.path
    code = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({name!r}) is None else 1)"
    assert subprocess.run([sys.executable, "-c", code], cwd="/").returncode == 0, \
        f"a top-level package {name!r} is importable; the card folders must map under seedcc.*"


def test_console_script_is_declared():
    from importlib.metadata import entry_points

    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("seedcc") == "seedcc.cli:main"
