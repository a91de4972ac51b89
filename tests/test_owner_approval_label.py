"""The plan workflow's needs-owner-approval label, run against a fake GitHub API on loopback.

The label job's script is taken from .github/workflows/hubops-plan.yml as written and run
with bash the way a runner does, with GITHUB_API_URL pointing at a small HTTP server on
127.0.0.1 that records every call. The wiring around it (the action's output, the plan
job's output, the label job's permissions) is checked on the YAML; actionlint checks the
expressions (test_workflows.py).
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / ".github" / "workflows" / "hubops-plan.yml"
LABEL = "needs-owner-approval"
TOKEN = "ghs_fake-token-for-the-test"
ISSUE_LABELS = "/repos/example/config/issues/7/labels"


@dataclass
class Call:
    method: str
    path: str
    authorization: str
    body: Any


@dataclass
class FakeGitHub:
    """Answers the labels endpoints; `answers` overrides the status of (method, path)."""

    url: str
    calls: list[Call] = field(default_factory=list)
    answers: dict[tuple[str, str], int] = field(default_factory=dict)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            fake.calls.append(
                Call(
                    self.command,
                    self.path,
                    self.headers.get("Authorization", ""),
                    json.loads(raw) if raw else None,
                )
            )
            status = fake.answers.get((self.command, self.path), 200)
            body = json.dumps(
                [{"name": LABEL}] if status == 200 else {"message": f"status {status}"}
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def label_step() -> dict[str, Any]:
    steps = workflow()["jobs"]["label"]["steps"]
    (step,) = [s for s in steps if "run" in s]
    assert isinstance(step, dict)
    return step


def run_label_step(
    github: FakeGitHub, approvals: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    step = label_step()
    script = tmp_path / "label.sh"
    script.write_text(step["run"], encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        # a runner's defaults, pointed at the fake API
        "GITHUB_API_URL": github.url,
        "GITHUB_REPOSITORY": "example/config",
        "RUNNER_TEMP": str(tmp_path),
        # the step's env:, with the values GitHub would give its expressions
        "GH_TOKEN": TOKEN,
        "PR_NUMBER": "7",
        "OWNER_APPROVALS": approvals,
        "LABEL": step["env"]["LABEL"],
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_changes_that_need_approval_add_the_label(github: FakeGitHub, tmp_path: Path) -> None:
    proc = run_label_step(github, "3", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [(c.method, c.path, c.body) for c in github.calls] == [
        ("POST", ISSUE_LABELS, {"labels": [LABEL]})
    ]
    assert github.calls[0].authorization == f"Bearer {TOKEN}"
    assert f"labelled {LABEL}: 3 changes" in proc.stdout
    assert TOKEN not in proc.stdout + proc.stderr


def test_no_approvals_remove_the_label(github: FakeGitHub, tmp_path: Path) -> None:
    proc = run_label_step(github, "0", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [(c.method, c.path) for c in github.calls] == [("DELETE", f"{ISSUE_LABELS}/{LABEL}")]
    assert f"{LABEL} removed" in proc.stdout


def test_removing_a_label_the_pull_request_does_not_carry_succeeds(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github.answers[("DELETE", f"{ISSUE_LABELS}/{LABEL}")] = 404
    proc = run_label_step(github, "0", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(github.calls) == 1


def test_a_refused_call_fails_the_step_and_says_why(github: FakeGitHub, tmp_path: Path) -> None:
    github.answers[("POST", ISSUE_LABELS)] = 403
    proc = run_label_step(github, "1", tmp_path)
    assert proc.returncode == 1
    assert "::error" in proc.stdout and "answered 403" in proc.stdout
    assert TOKEN not in proc.stdout + proc.stderr


@pytest.mark.parametrize("approvals", ["", "two", "-1"])
def test_a_missing_count_fails_without_calling_github(
    github: FakeGitHub, tmp_path: Path, approvals: str
) -> None:
    proc = run_label_step(github, approvals, tmp_path)
    assert proc.returncode == 1
    assert "no count of owner approvals" in proc.stdout
    assert github.calls == []


def test_the_count_flows_from_the_json_plan_to_the_label_job() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert (
        action["outputs"]["owner-approvals"]["value"] == "${{ steps.run.outputs.owner-approvals }}"
    )
    run = next(s for s in action["runs"]["steps"] if s.get("id") == "run")["run"]
    assert '["ownerApprovals"]' in run and 'echo "owner-approvals=' in run
    jobs = workflow()["jobs"]
    plan_step = next(s for s in jobs["plan"]["steps"] if s.get("id") == "plan")
    assert plan_step["uses"] == "./" and plan_step["with"]["command"] == "plan"
    assert jobs["plan"]["outputs"]["owner-approvals"] == "${{ steps.plan.outputs.owner-approvals }}"
    label = jobs["label"]
    assert label["needs"] == "plan"
    env = label_step()["env"]
    assert env["OWNER_APPROVALS"] == "${{ needs.plan.outputs.owner-approvals }}"
    assert env["PR_NUMBER"] == "${{ github.event.pull_request.number }}"
    assert env["GH_TOKEN"] == "${{ github.token }}"
    assert "${{" not in label_step()["run"], "expressions belong in env:, not in the script"


def test_least_privilege() -> None:
    data = workflow()
    # Nothing may write by default; each job asks for what it needs.
    assert all(v in ("read", "none") for v in (data.get("permissions") or {}).values())
    jobs = data["jobs"]
    assert jobs["label"]["permissions"] == {"issues": "write", "pull-requests": "write"}
    assert "issues" not in jobs["plan"]["permissions"]
    # A fork's pull request gets a read-only token: the label job does not run there.
    assert "head.repo.full_name == github.repository" in jobs["label"]["if"]
    assert not any("uses" in s for s in jobs["label"]["steps"]), "no checkout, no third-party code"
