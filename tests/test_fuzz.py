"""The coverage-guided fuzzers (fuzz/fuzz_*.py) run a short, fixed number of inputs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("harness", "seeds", "runs"),
    [("fuzz_reader.py", "corpus", 150), ("fuzz_settings.py", "corpus_settings", 1500)],
)
def test_fuzz_short_run(tmp_path: Path, harness: str, seeds: str, runs: int) -> None:
    pytest.importorskip("atheris", reason="atheris is not installed (x86_64 Linux, Python < 3.13)")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seed in (ROOT / "fuzz" / seeds).iterdir():
        (corpus / seed.name).write_bytes(seed.read_bytes())
    result = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / harness), str(corpus),
         f"-runs={runs}", "-rss_limit_mb=2048", "-timeout=60", f"-artifact_prefix={tmp_path}/"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    # libFuzzer may run a few more inputs than asked while it loads the seed corpus
    done = re.search(r"Done (\d+) runs", result.stderr)
    assert done is not None, result.stderr[-3000:]
    assert int(done.group(1)) >= runs, result.stderr[-3000:]
    assert not list(tmp_path.glob("crash-*"))
