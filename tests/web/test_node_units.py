"""Runs the web client's unit tests (`node --test tests/web/`) as part of the pytest suite, so
`make test` covers the store, formatting and i18n rules. Node.js is required, never skipped."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_web_client_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "Node.js (`node`, version 20 or later) is needed for the web client's unit tests"
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    major = int(version.stdout.strip().lstrip("v").split(".")[0])
    assert major >= 20, f"Node.js 20 or later is needed, found {version.stdout.strip()}"
    tests = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "web").glob("*.test.mjs"))
    assert tests, "no web unit tests found"
    result = subprocess.run(
        [node, "--test", "--test-reporter=tap", *tests],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"node --test failed:\n{result.stdout}\n{result.stderr}"
    assert "# fail 0" in result.stdout, result.stdout
