"""Publishing a site `qakb new` made: `--url` as mkdocs.yml's site_url, the GitHub Pages workflow
(checked against GitHub's workflow schema with check-jsonschema, offline) and requirements.txt."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mkdocs.config import load_config

from qakb.cli import main
from qakb.config import CACHE_DIR_ENV, load_settings
from qakb.scaffold import WORKFLOW, qakb_requirement

CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


def validate_workflow(path: Path) -> subprocess.CompletedProcess:
    """check-jsonschema with the GitHub workflow schema it ships (no download)."""
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(path)], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A site folder made with `qakb new --url https://x.github.io/bank/`."""
    site = tmp_path_factory.mktemp("publish") / "bank"
    assert main(["new", str(site), "--url", "https://x.github.io/bank/"]) == 0
    return site


def workflow_of(site: Path) -> dict:
    workflow = yaml.safe_load((site / WORKFLOW).read_text(encoding="utf-8"))
    # PyYAML reads YAML 1.1, where a bare `on` is true; GitHub reads it as the key "on".
    return {("on" if key is True else key): value for key, value in workflow.items()}


def steps_using(job: dict) -> dict[str, dict]:
    """A job's steps by the action they use, without its version."""
    return {step["uses"].split("@")[0]: step for step in job["steps"] if "uses" in step}


def test_url_becomes_site_url(published):
    assert load_config(str(published / "mkdocs.yml")).site_url == "https://x.github.io/bank/"


def test_a_url_without_its_last_slash_gets_one(tmp_path):
    assert main(["new", str(tmp_path / "site"), "--url", "https://qa.example.org/interviews"]) == 0
    assert load_config(str(tmp_path / "site" / "mkdocs.yml")).site_url == "https://qa.example.org/interviews/"


def test_without_url_site_url_is_unset_and_the_output_says_how_to_set_it(tmp_path, capsys):
    assert main(["new", str(tmp_path / "site")]) == 0
    assert load_config(str(tmp_path / "site" / "mkdocs.yml")).site_url is None
    printed = capsys.readouterr().out
    assert "site_url is not set" in printed and "mkdocs.yml" in printed and "--url" in printed


def test_the_workflow_is_a_valid_github_workflow(published):
    result = validate_workflow(published / WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_refuses_a_broken_workflow(published, tmp_path):
    """The check can fail: the same workflow with a job that names no runner is refused."""
    workflow = workflow_of(published)
    rewritten = tmp_path / "rewritten.yml"
    rewritten.write_text(yaml.safe_dump(workflow), encoding="utf-8")
    assert validate_workflow(rewritten).returncode == 0
    del workflow["jobs"]["build"]["runs-on"]
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump(workflow), encoding="utf-8")
    result = validate_workflow(broken)
    assert result.returncode == 1 and "runs-on" in result.stdout, result.stdout + result.stderr


def test_the_workflow_builds_on_push_to_main_and_deploys_to_pages(published):
    workflow = workflow_of(published)
    triggers = workflow["on"]
    assert triggers["push"]["branches"] == ["main"] and "workflow_dispatch" in triggers
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert workflow["concurrency"]["group"] == "pages"
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    actions = steps_using(build)
    assert list(actions) == ["actions/checkout", "actions/setup-python", "actions/setup-node", "actions/cache",
                             "actions/upload-pages-artifact"]
    assert actions["actions/setup-python"]["with"]["cache"] == "pip"
    assert actions["actions/setup-python"]["with"]["python-version"]
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert [step["uses"].split("@")[0] for step in deploy["steps"]] == ["actions/deploy-pages"]
    assert "chromium" not in (published / WORKFLOW).read_text(encoding="utf-8").lower()


def test_the_workflow_installs_requirements_caches_the_cache_folder_and_uploads_the_site(published, monkeypatch):
    monkeypatch.delenv(CACHE_DIR_ENV, raising=False)
    settings = load_settings(published)
    build = workflow_of(published)["jobs"]["build"]
    runs = [step["run"] for step in build["steps"] if "run" in step]
    assert runs == ["python -m pip install -r requirements.txt", "qakb build"]
    assert (published / "requirements.txt").is_file()
    actions = steps_using(build)
    cache = actions["actions/cache"]["with"]
    assert published / cache["path"] == settings.cache_dir
    assert "hashFiles(" in cache["key"] and "'content/**'" in cache["key"] and cache["restore-keys"].strip()
    assert cache["key"].startswith(cache["restore-keys"].strip())
    assert published / actions["actions/upload-pages-artifact"]["with"]["path"] == settings.site_dir
    order = [step.get("uses", step.get("run", "")).split("@")[0] for step in build["steps"]]
    assert order.index("actions/cache") < order.index("qakb build") < order.index("actions/upload-pages-artifact")


def test_requirements_pin_qakb_and_torch_from_the_cpu_index(published):
    lines = [line for line in (published / "requirements.txt").read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    torch = importlib.metadata.version("torch").split("+")[0]
    assert lines[0] == f"--extra-index-url {CPU_TORCH_INDEX}"
    assert lines[1].startswith("qakb") and lines[2] == f"torch=={torch}"


@pytest.mark.parametrize("url, message", [
    ("x.github.io/bank/", "is not a web address"),
    ("ftp://x.github.io/bank/", "is not a web address"),
    ("https:///bank/", "is not a web address"),
    ("https://x.github.io/my bank/", "spaces"),
    ("https://x.github.io/bank/?page=1", "query or a fragment"),
    ("https://x.github.io/bank/#top", "query or a fragment"),
    ("https://me:secret@x.github.io/bank/", "user name or password"),
    ("https://x.github.io:99999/bank/", "port"),
    ("https://x_y.github.io/bank/", "is not a host name"),
    ("https://[::1/bank/", "is not a web address"),
])
def test_a_bad_url_is_refused_and_nothing_is_written(tmp_path, capsys, url, message):
    assert main(["new", str(tmp_path / "site"), "--url", url]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: --url {url!r}") and message in error, error
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("direct_url, line, noted", [
    (None, "qakb==1.2.0", False),
    ({"url": "https://github.com/someone/qakb", "vcs_info": {"vcs": "git", "commit_id": "ab12",
                                                             "requested_revision": "v1.2.0"}},
     "qakb @ git+https://github.com/someone/qakb@ab12", False),
    ({"url": "https://example.org/qakb-1.2.0-py3-none-any.whl", "archive_info": {}},
     "qakb @ https://example.org/qakb-1.2.0-py3-none-any.whl", False),
    ({"url": "file:///home/me/qakb", "dir_info": {"editable": True}}, "qakb==1.2.0", True),
    ({"url": "file:///tmp/qakb-1.2.0-py3-none-any.whl", "archive_info": {}}, "qakb==1.2.0", True),
])
def test_requirements_name_qakb_as_another_machine_can_install_it(direct_url, line, noted):
    """From PyPI, a Git repository or a wheel's address as installed; a local copy gets the version and a note."""
    written, note = qakb_requirement("1.2.0", None if direct_url is None else json.dumps(direct_url))
    assert written == line
    assert (note is not None) == noted
    if noted:
        assert direct_url["url"] in note and "not on PyPI" in note
