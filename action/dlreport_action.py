"""The GitHub Action's logic (``action.yml``): analyse, summarise, write the page, gate.

Run by the action after dlreport is installed; testable anywhere with a fake
``GITHUB_STEP_SUMMARY`` and ``GITHUB_OUTPUT`` (tests/test_action.py). Inputs come as the
``INPUT_*`` environment variables the composite action sets:

- ``INPUT_PATH``: the LOGDIR(s), separated by new lines;
- ``INPUT_FAIL_ON``: ``info``, ``warning``, ``error`` or empty (never fail);
- ``INPUT_HTML``: where to write the HTML report (uploaded as an artifact by the action).

Writes ``status``, ``exit-code`` and ``html`` to ``$GITHUB_OUTPUT``. Exits 0 even when the
gate fails, so that the report is uploaded first; the action's last step applies the gate
(``exit-code``). Unusable input exits 2 at once with a one-line ``::error::``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path


def _append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    import dlreport

    paths = [p.strip() for p in env.get("INPUT_PATH", "").splitlines() if p.strip()]
    fail_on = env.get("INPUT_FAIL_ON", "").strip() or None
    html = env.get("INPUT_HTML", "").strip() or "dlreport.html"
    if not paths:
        print("::error::dlreport: the 'path' input is empty", file=sys.stderr)
        return 2
    if fail_on not in (None, "info", "warning", "error"):
        print(f"::error::dlreport: fail-on {fail_on}: use info, warning or error", file=sys.stderr)
        return 2
    try:
        report = dlreport.analyze(paths, jobs=None)
        report.to_html(html)
    except dlreport.DlreportError as exc:
        print(f"::error::dlreport: {exc}", file=sys.stderr)
        return 2
    _append(env.get("GITHUB_STEP_SUMMARY"), report.to_markdown() + "\n")
    code = report.exit_code(fail_on)
    _append(
        env.get("GITHUB_OUTPUT"),
        f"status={report.status}\nexit-code={code}\nhtml={Path(html).resolve()}\n",
    )
    print(f"dlreport: {len(report.runs)} runs, status {report.status}; wrote {html}")
    if code:
        worst = [r for r in report.runs if r.status == report.status]
        names = ", ".join(r.run for r in worst[:10])
        print(f"::error::dlreport: runs at or above {fail_on}: {names}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
