"""`.ci/run` is the README's test command, so what a contributor runs is what CI runs."""

from __future__ import annotations

import re

from conftest import REPO


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    command = next(b for b in blocks if ".venv/bin/pytest" in b)
    script = (REPO / ".ci" / "run").read_text().rstrip("\n").splitlines()
    assert script[-1] == command
    assert "env -u HUBOPS_TEST_DATABASE_URL .venv/bin/pytest -q" in command  # SQLite first
    assert command.endswith(
        'HUBOPS_TEST_DATABASE_URL="${HUBOPS_TEST_DATABASE_URL:-'
        'postgresql+psycopg://postgres@127.0.0.1:5432/test}" .venv/bin/pytest -q'
    )
