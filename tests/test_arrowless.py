"""The command line imports pandas without pyarrow, and still exports with pyarrow.

Run in fresh interpreters: in this test process pandas is imported already, so the import
hook never acts here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_pandas_without_pyarrow_then_pyarrow_as_usual() -> None:
    out = _python(
        "import sys, analyzer.arrowless as a; a.install(); import pandas\n"
        "print('pyarrow' in sys.modules)\n"
        "import pyarrow.compute, pyarrow.parquet\n"
        "print(pandas.Series(['a', None]).isna().tolist())"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["False", "[False, True]"]


def test_pyarrow_first_then_pandas_gets_it() -> None:
    out = _python(
        "import sys, analyzer.arrowless as a; a.install(); import pyarrow; import pandas\n"
        "print('pyarrow.compute' in sys.modules)"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_command_in_a_fresh_process(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"x{suffix}"
    out = subprocess.run(
        [sys.executable, "-m", "analyzer", "export", str(SAMPLES / "healthy"), "-o", str(target)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert target.stat().st_size > 0


def test_export_never_imports_pandas(tmp_path: Path) -> None:
    # pandas is 0.2 CPU-s of a 1 CPU-s export: planning, reading and writing go without it.
    code = (
        "import sys\n"
        "class NoPandas:\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.partition('.')[0] == 'pandas':\n"
        "            raise ImportError('pandas imported by export')\n"
        "sys.meta_path.insert(0, NoPandas())\n"
        "from analyzer.cli import cli\n"
        "cli(sys.argv[1:])\n"
    )
    for name in ("x.csv", "x.parquet"):
        target = tmp_path / name
        argv = ["export", str(SAMPLES / "healthy"), "-o", str(target)]
        out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert target.stat().st_size > 0
