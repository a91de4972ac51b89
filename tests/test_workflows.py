"""The GitHub workflows, the composite action and the pre-commit hooks cannot rot.

* actionlint passes on every workflow (and on the example workflows of docs/gitops.md);
* zizmor finds nothing of high severity in the workflows and action.yml, offline; every
  action is pinned to a commit with its version in a comment, no checkout keeps the token
  in .git/config, and permissions are granted per job;
* every `hubops ...` command line of the workflows and of action.yml runs against
  `examples/` with the embedded runtime and exits 0 (or 2 under --detailed-exitcode);
* every `uses: ./` step runs the action's own script the way a runner does (bash -eo
  pipefail, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY), in job order, and succeeds;
* the pre-commit hooks run, and the commands of docs/gitops.md exist with those options.

GitHub expressions (`${{ ... }}`) get realistic values from Job.context(): a workflow that
starts using a new expression must add one there. Everything runs in a temporary git clone
of examples/ whose working tree holds one uncommitted change, as a pull request would.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from hubops.cli import cli

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HUBOPS = str(BIN / "hubops")
ACTION = REPO / "action.yml"
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
HOOKS = REPO / ".pre-commit-hooks.yaml"
GUIDE = REPO / "docs" / "gitops.md"
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
HUBOPS_WORD = re.compile(r"(?:^|[\s;&|(/])hubops(?:\s|$)")
CHANGED_TENANT = "bella-pizza"


def tool(name: str) -> str | None:
    """A tool installed beside this Python (the dev extra), else on PATH."""
    beside = BIN / name
    return str(beside) if beside.is_file() else shutil.which(name)


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def workflow_jobs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in WORKFLOWS:
        for job_id, job in load(path)["jobs"].items():
            yield path.name, job_id, job


# --- actionlint -------------------------------------------------------------------------


def actionlint() -> str:
    exe = tool("actionlint")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("actionlint is missing: pip install -e '.[dev]'")
        pytest.skip("actionlint is not installed (pip install -e '.[dev]')")
    return exe


def test_actionlint_passes_on_every_workflow() -> None:
    assert WORKFLOWS, "no workflows found"
    # Run from the repository, so that `uses: ./` steps are checked against action.yml's inputs.
    proc = subprocess.run(
        [actionlint(), "-no-color", *(str(p.relative_to(REPO)) for p in WORKFLOWS)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_passes_on_the_guides_example_workflows(tmp_path: Path) -> None:
    blocks = [b for b in fenced_blocks(GUIDE, {"yaml", "yml"}) if "\njobs:" in f"\n{b}"]
    assert blocks, "docs/gitops.md shows no example workflow"
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    for n, block in enumerate(blocks):
        (folder / f"guide-{n}.yml").write_text(block, encoding="utf-8")
    git(tmp_path, "init", "-q")  # actionlint looks for the repository
    proc = subprocess.run(
        [actionlint(), "-no-color"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- zizmor, pins, credentials and permissions ------------------------------------------

PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(.+?)\s*$")


def zizmor(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = tool("zizmor")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("zizmor is missing: pip install -e '.[dev]'")
        pytest.skip("zizmor is not installed (pip install -e '.[dev]')")
    # Offline, without any GitHub token: zizmor must never reach the network.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GH_", "GITHUB_", "ZIZMOR_"))}
    return subprocess.run(
        [exe, "--offline", "--no-progress", "--color=never", "--min-severity=high", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_zizmor_finds_nothing_of_high_severity() -> None:
    proc = zizmor(REPO, *(str(p.relative_to(REPO)) for p in [*WORKFLOWS, ACTION]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def guide_workflows(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The example workflows of docs/gitops.md, as files."""
    folder = tmp_path_factory.mktemp("guide") / ".github" / "workflows"
    folder.mkdir(parents=True)
    blocks = [b for b in fenced_blocks(GUIDE, {"yaml", "yml"}) if "\njobs:" in f"\n{b}"]
    assert blocks, "docs/gitops.md shows no example workflow"
    paths = [folder / f"guide-{n}.yml" for n in range(len(blocks))]
    for path, block in zip(paths, blocks, strict=True):
        path.write_text(block, encoding="utf-8")
    return paths


def test_zizmor_finds_nothing_of_high_severity_in_the_guide(guide_workflows: list[Path]) -> None:
    # OWNER/hubops@v0.1.0 stands for the reader's pinned copy of hubops.
    config = guide_workflows[0].parent / "zizmor.yml"
    config.write_text(
        'rules:\n  unpinned-uses:\n    config:\n      policies:\n        "OWNER/hubops": ref-pin\n'
    )
    proc = zizmor(guide_workflows[0].parent, f"--config={config}", *map(str, guide_workflows))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def remote_uses(path: Path) -> list[str]:
    """Every `uses:` of a workflow or action, as written, but this action and the guide's."""
    found = [m.group(1) for line in path.read_text().splitlines() if (m := USES.match(line))]
    return [use for use in found if not use.startswith(("./", "docker://", "OWNER/hubops@"))]


def all_workflows(guide: list[Path]) -> list[tuple[str, Path]]:
    return [*((p.name, p) for p in WORKFLOWS), *((f"docs/gitops.md {p.name}", p) for p in guide)]


def test_every_action_is_pinned_to_a_commit_with_its_version(guide_workflows: list[Path]) -> None:
    for name, path in [*all_workflows(guide_workflows), ("action.yml", ACTION)]:
        for use in remote_uses(path):
            assert PINNED.match(use), (
                f"{name}: pin `{use}` to the full commit SHA of a release, with the release "
                "in a comment: `owner/repo@<40 hex> # vX.Y.Z`"
            )


def test_workflows_keep_no_token_and_grant_permissions_per_job(
    guide_workflows: list[Path],
) -> None:
    for name, path in all_workflows(guide_workflows):
        spec = load(path)
        assert spec.get("permissions") == {}, f"{name}: set `permissions: {{}}` at the top"
        for job_id, job in spec["jobs"].items():
            assert isinstance(job.get("permissions"), dict), f"{name} {job_id}: no permissions"
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    with_ = step.get("with") or {}
                    assert with_.get("persist-credentials") is False, (
                        f"{name} {job_id}: checkout must set persist-credentials: false"
                    )


def test_action_scripts_pass_shellcheck(tmp_path: Path) -> None:
    # actionlint runs shellcheck on workflows' run: scripts, not on an action's.
    exe = shutil.which("shellcheck")
    if exe is None:
        pytest.skip("shellcheck is not installed")
    for n, step in enumerate(load(ACTION)["runs"]["steps"]):
        if "run" in step:
            script = tmp_path / f"step{n}.sh"
            script.write_text("#!/bin/bash\nset -eo pipefail\n" + EXPR.sub("X", step["run"]))
            proc = subprocess.run([exe, str(script)], capture_output=True, text=True, check=False)
            assert proc.returncode == 0, proc.stdout


def test_the_action_is_exercised_by_the_project_workflows() -> None:
    commands = {
        (step.get("with") or {}).get("command")
        for _, _, job in workflow_jobs()
        for step in job.get("steps", [])
        if step.get("uses") == "./"
    }
    assert {"validate", "plan", "apply", "status"} <= commands
    inputs = load(ACTION)["inputs"]
    for name, job_id, job in workflow_jobs():
        for step in job.get("steps", []):
            if step.get("uses") == "./":
                unknown = set(step.get("with") or {}) - set(inputs)
                assert not unknown, f"{name} {job_id}: unknown inputs {unknown}"


# --- a temporary clone, and GitHub's expressions ----------------------------------------


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "ci",
        "GIT_AUTHOR_EMAIL": "ci@example.com",
        "GIT_COMMITTER_NAME": "ci",
        "GIT_COMMITTER_EMAIL": "ci@example.com",
    }
    out = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """examples/ committed as the base, with one tenant changed in the working tree."""
    root = tmp_path_factory.mktemp("clone")
    shutil.copytree(REPO / "examples", root / "examples")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    base = git(root, "rev-parse", "HEAD")
    with (root / "examples" / "tenants" / CHANGED_TENANT / "tenant.yaml").open("a") as f:
        f.write("# changed by the pull request\n")
    return root, base


@dataclass
class Job:
    """One simulated job: its own copy of the clone, runtime and step outputs."""

    workdir: Path
    temp: Path
    base_sha: str
    runtime: str
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    summary: Path = field(init=False)

    def __post_init__(self) -> None:
        self.summary = self.temp / "step-summary.md"

    def context(self) -> dict[str, str]:
        values = {
            "github.event.pull_request.base.sha": self.base_sha,
            "github.event.pull_request.number": "7",
            "github.event.before": self.base_sha,
            "github.server_url": "https://github.com",
            "github.repository": "example/config",
            "github.run_id": "1",
            "vars.HUBOPS_RUNTIME": self.runtime,
            "secrets.HUBOPS_ADMIN_TOKEN": "",
            "secrets.SOPS_AGE_KEY": "",
            "matrix.shard": "1",
            "strategy.job-total": "2",
        }
        for step, outs in self.outputs.items():
            values.update({f"steps.{step}.outputs.{k}": v for k, v in outs.items()})
        return values

    def env(
        self, *layers: dict[str, Any] | None, context: dict[str, str] | None = None
    ) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("HUBOPS_", "SOPS_", "GITHUB_", "RUNNER_"))
        }
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        for layer in layers:
            for key, value in (layer or {}).items():
                env[key] = substitute(str(value), context or self.context())
        return env


def substitute(text: str, context: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr not in context:
            raise AssertionError(f"add a realistic value for ${{{{ {expr} }}}} to the test")
        return context[expr]

    return EXPR.sub(value, text)


def new_job(clone: tuple[Path, str], tmp_path: Path, name: str) -> Job:
    source, base = clone
    workdir = tmp_path / name / "checkout"
    shutil.copytree(source, workdir)
    temp = tmp_path / name / "runner-temp"
    temp.mkdir()
    return Job(workdir, temp, base, runtime=str(tmp_path / name / "state.db"))


# --- hubops command lines ---------------------------------------------------------------

# The shell variables of action.yml's script, as the test sets them.
ACTION_VARS = {
    '"${args[@]}"': "",
    '"${apply_args[@]}"': "",
    '"$INPUT_TENANTS_ROOT"': "examples/tenants",
    '"$plan_json"': "{temp}/plan.json",
    '"$plan_md"': "{temp}/plan.md",
    '"$log"': "{temp}/output.txt",
}


def command_lines(script: str) -> list[list[str]]:
    """Every `hubops ...` command of a shell script, as argv (redirections dropped)."""
    script = re.sub(r"\\\n\s*", " ", script)
    commands = []
    for line in script.splitlines():
        if not HUBOPS_WORD.search(line):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = [*lexer, ";"]
        for i, token in enumerate(tokens):
            command_position = i == 0 or tokens[i - 1][0] in "|&;(" or "=" in tokens[i - 1]
            if Path(token).name != "hubops" or not command_position:
                continue
            end = next(j for j in range(i + 1, len(tokens)) if tokens[j][0] in "|&;<>()")
            if tokens[end][0] in "<>" and tokens[end - 1].isdigit() and end - 1 > i:
                end -= 1  # the 2 of 2>&1
            commands.append([HUBOPS, *tokens[i + 1 : end]])
    return commands


def run_hubops(argv: list[str], job: Job, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    leftover = [a for a in argv if "$" in a]
    assert not leftover, f"unsubstituted shell variables in {shlex.join(argv)}"
    proc = subprocess.run(
        argv, cwd=job.workdir, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    expected = {0, 2} if "--detailed-exitcode" in argv else {0}
    assert proc.returncode in expected, (
        f"{shlex.join(argv[1:])} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    )
    return proc


def demo_env(job: Job) -> dict[str, str]:
    key = job.workdir / "examples" / "demo.agekey"
    return job.env({"SOPS_AGE_KEY_FILE": str(key), "HUBOPS_RUNTIME": job.runtime})


def test_every_hubops_line_of_action_yml_runs(clone: tuple[Path, str], tmp_path: Path) -> None:
    job = new_job(clone, tmp_path, "action")
    ran = 0
    for step in load(ACTION)["runs"]["steps"]:
        script = step.get("run", "")
        for placeholder, value in ACTION_VARS.items():
            value = value.format(temp=job.temp)
            script = script.replace(placeholder, shlex.quote(value) if value else "")
        for argv in command_lines(script):
            run_hubops(argv, job, demo_env(job))
            ran += 1
    # --version, validate, plan, plan and apply of `apply`, status
    assert ran >= 6


def test_every_hubops_line_of_the_workflows_runs(clone: tuple[Path, str], tmp_path: Path) -> None:
    ran = 0
    for name, job_id, spec in workflow_jobs():
        job = new_job(clone, tmp_path, f"{name}-{job_id}")
        for step in spec.get("steps", []):
            if "run" not in step:
                continue
            script = substitute(step["run"], job.context())
            for argv in command_lines(script):
                env = job.env(spec.get("env"), step.get("env"), {"HUBOPS_RUNTIME": job.runtime})
                run_hubops(argv, job, env)
                ran += 1
    assert ran >= 1


# --- the action, as a runner runs it ----------------------------------------------------


def run_action(job: Job, job_env: dict[str, Any] | None, step: dict[str, Any]) -> dict[str, str]:
    """Run action.yml for one `uses: ./` step; returns the action's outputs."""
    action = load(ACTION)
    context = job.context()
    given = {k: substitute(str(v), context) for k, v in (step.get("with") or {}).items()}
    inputs: dict[str, str] = {}
    for name, spec in action["inputs"].items():
        if spec.get("required") and name not in given:
            raise AssertionError(f"input {name} is required")
        inputs[name] = given.get(name, str(spec.get("default", "")))
    action_context = {
        **context,
        **{f"inputs.{k}": v for k, v in inputs.items()},
        "github.action_path": str(job.workdir),
    }
    outputs: dict[str, str] = {}
    for n, action_step in enumerate(action["runs"]["steps"]):
        if "uses" in action_step:
            assert action_step["uses"].startswith("actions/setup-python@")
            continue
        if "pip install" in action_step["run"]:
            continue  # hubops is installed beside this Python already
        output_file = job.temp / f"output-{n}"
        output_file.write_text("")
        env = job.env(job_env, step.get("env"), context=context)
        env.update(job.env(action_step.get("env"), context=action_context))
        env.update(
            GITHUB_OUTPUT=str(output_file),
            GITHUB_STEP_SUMMARY=str(job.summary),
            GITHUB_ACTION_PATH=str(job.workdir),
            RUNNER_TEMP=str(job.temp),
        )
        script = job.temp / f"step-{n}.sh"
        script.write_text(substitute(action_step["run"], action_context))
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=job.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert proc.returncode == 0, (
            f"hubops action ({inputs['command']}) failed with {proc.returncode}\n"
            f"{proc.stdout}\n{proc.stderr}"
        )
        if "id" in action_step:
            step_outputs = dict(
                line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line
            )
            action_context.update(
                {f"steps.{action_step['id']}.outputs.{k}": v for k, v in step_outputs.items()}
            )
    for name, spec in action["outputs"].items():
        outputs[name] = EXPR.sub(lambda m: action_context.get(m.group(1), ""), spec["value"])
    return outputs


def jobs_using_the_action() -> list[tuple[str, str]]:
    return [
        (name, job_id)
        for name, job_id, job in workflow_jobs()
        if any(step.get("uses") == "./" for step in job.get("steps", []))
    ]


@pytest.mark.parametrize(("workflow", "job_id"), jobs_using_the_action())
def test_the_workflow_runs_with_the_action(
    workflow: str, job_id: str, clone: tuple[Path, str], tmp_path: Path
) -> None:
    spec = load(REPO / ".github" / "workflows" / workflow)
    job_spec = spec["jobs"][job_id]
    job = new_job(clone, tmp_path, job_id)
    job_env = {**(spec.get("env") or {}), **(job_spec.get("env") or {})}
    for step in job_spec["steps"]:
        if step.get("uses") == "./":
            outputs = run_action(job, job_env, step)
            assert outputs["exit-code"] in {"0", "2"}, outputs
            if step["with"]["command"] in {"plan", "apply"}:
                check_plan_outputs(outputs, step["with"])
            if step["with"]["command"] == "apply":
                assert "Apply complete!" in job.summary.read_text()
            if "id" in step:
                job.outputs[step["id"]] = outputs
        elif "run" in step:
            # Steps of a job that uses the action check its outputs: run them as written.
            script = job.temp / "run.sh"
            script.write_text(substitute(step["run"], job.context()))
            env = job.env(job_env, step.get("env"))
            env["RUNNER_TEMP"] = str(job.temp)
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=job.workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert proc.returncode == 0, f"step {step.get('name')}:\n{proc.stdout}\n{proc.stderr}"


def check_plan_outputs(outputs: dict[str, str], given: dict[str, Any]) -> None:
    markdown = Path(outputs["plan-markdown"]).read_text()
    assert markdown.startswith("<!-- hubops-plan -->\n"), markdown[:200]
    closing = r"(Plan: \d+ to add, \d+ to change, \d+ to destroy\.|No changes\.)\s*$"
    assert re.search(closing, markdown), markdown[-200:]
    assert Path(outputs["plan-json"]).is_file()
    approvals = json.loads(Path(outputs["plan-json"]).read_text())["ownerApprovals"]
    assert outputs["owner-approvals"] == str(approvals), outputs
    assert ("Needs owner approval:" in markdown) == (approvals > 0), markdown[-300:]
    changes = "No changes." not in markdown
    assert outputs["has-changes"] == ("true" if changes else "false"), outputs
    if given["command"] == "plan":
        assert outputs["exit-code"] == ("2" if changes else "0"), outputs
    if "--changed-since" in given.get("args", ""):
        # The pull request changed one tenant: the plan covers it alone.
        assert f"<b>{CHANGED_TENANT}</b>" in markdown
        assert markdown.count("<details>") == 1, markdown


def test_apply_is_serialised_and_protected() -> None:
    spec = load(REPO / ".github" / "workflows" / "hubops-apply.yml")
    assert spec["concurrency"]["group"]
    assert spec["concurrency"]["cancel-in-progress"] is False
    for job in spec["jobs"].values():
        assert job["environment"] == "production"
        assert any(
            (s.get("with") or {}).get("command") == "apply" for s in job["steps"] if "uses" in s
        )


# --- pre-commit hooks --------------------------------------------------------------------


def test_pre_commit_hooks(clone: tuple[Path, str], tmp_path: Path) -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load(HOOKS.read_text())}
    assert set(hooks) == {"hubops-validate", "hubops-sops-encrypted"}
    job = new_job(clone, tmp_path, "pre-commit")
    env = demo_env(job)
    files = [*git(job.workdir, "ls-files").splitlines(), ".sops.yaml"]

    def selected(hook: dict[str, Any]) -> list[str]:
        return [
            f
            for f in files
            if re.search(hook.get("files", ""), f)
            and not (hook.get("exclude") and re.search(hook["exclude"], f))
        ]

    validate = hooks["hubops-validate"]
    assert validate["pass_filenames"] is False
    assert selected(validate)
    # A config repository's root holds tenants/ and catalog.yaml, as examples/ does.
    argv = [HUBOPS, *shlex.split(validate["entry"])[1:]]
    proc = subprocess.run(
        argv, cwd=job.workdir / "examples", env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

    encrypted = hooks["hubops-sops-encrypted"]
    secrets = selected(encrypted)
    assert sorted(secrets) == sorted(f for f in files if f.endswith("/secrets.sops.yaml"))
    assert "examples/.sops.yaml" not in secrets and ".sops.yaml" not in secrets
    argv = [HUBOPS, *shlex.split(encrypted["entry"])[1:]]
    proc = subprocess.run(
        [*argv, *secrets], cwd=job.workdir, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plain = job.workdir / "examples" / "tenants" / CHANGED_TENANT / "extra.sops.yaml"
    plain.write_text("tokens:\n  app: hub_not_encrypted\n")
    proc = subprocess.run(
        [*argv, *secrets, str(plain.relative_to(job.workdir))],
        cwd=job.workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "extra.sops.yaml" in proc.stdout + proc.stderr
    assert "hub_not_encrypted" not in proc.stdout + proc.stderr


# --- the guide ---------------------------------------------------------------------------


def fenced_blocks(path: Path, languages: set[str]) -> list[str]:
    """The fenced code blocks of a Markdown file in these languages (list items' too)."""
    text = path.read_text(encoding="utf-8")
    fence = re.compile(r"^([ \t]*)```([\w-]*)\n(.*?)^\1```", re.M | re.S)
    return [
        textwrap.dedent(m.group(1) + m.group(3))
        for m in fence.finditer(text)
        if m.group(2) in languages
    ]


def test_every_command_of_the_guide_exists() -> None:
    """Each `hubops SUBCOMMAND --option` of docs/gitops.md names a real command and option."""
    scripts = fenced_blocks(GUIDE, {"bash", "sh", "console", "shell"})
    for block in fenced_blocks(GUIDE, {"yaml", "yml"}):
        data = yaml.safe_load(block)
        for job in (data.get("jobs") or {}).values() if isinstance(data, dict) else []:
            for step in job.get("steps", []):
                if "run" in step:
                    scripts.append(step["run"])
                with_ = step.get("with") or {}
                if "hubops" in step.get("uses", "") and "command" in with_:
                    # The action hands `args` to the command (to plan, for apply).
                    command = "plan" if with_["command"] == "apply" else with_["command"]
                    scripts.append(EXPR.sub("X", f"hubops {command} {with_.get('args', '')}"))
                    if "apply-args" in with_:
                        scripts.append(f"hubops apply {with_['apply-args']}")
    seen = 0
    for script in scripts:
        for argv in command_lines(script.replace("$ hubops", "hubops")):
            words = argv[1:]
            command: click.Command = cli
            path = ["hubops"]
            while isinstance(command, click.Group) and words and not words[0].startswith("-"):
                sub = command.get_command(click.Context(command), words[0])
                assert sub is not None, f"no command {' '.join([*path, words[0]])}"
                command, path, words = sub, [*path, words[0]], words[1:]
            options = {o for p in command.params for o in getattr(p, "opts", [])}
            options |= {"--help", "-h", "--version"}
            for word in words:
                if word.startswith("--"):
                    assert word.split("=", 1)[0] in options, f"{' '.join(path)} has no {word}"
            seen += 1
    assert seen >= 10
