"""The Python client installs on its own (issue 21, item 3): `pip install
./client` into an empty venv gives `jobapi_client` and the `jobapi` command
with their pinned dependencies, and nothing of the server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True,
                          timeout=600, check=False, cwd=cwd)


def test_pip_install_of_the_client_alone_gives_the_package_and_the_command(
        tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv, cwd=tmp_path).returncode == 0
    python = venv / "bin" / "python"

    installed = run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    ROOT / "client", cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-3000:]

    imported = run(python, "-c", "import jobapi_client, httpx, websockets; "
                   "print(jobapi_client.JobsClient.__name__, httpx.__version__, "
                   "websockets.__version__)", cwd=tmp_path)
    assert imported.stdout.split() == ["JobsClient", "0.28.1", "17.4"], imported.stderr
    assert "jobapi" in run(venv / "bin" / "jobapi", "--help", cwd=tmp_path).stdout
    server = run(python, "-c", "import chalicelib", cwd=tmp_path)
    assert server.returncode != 0 and "ModuleNotFoundError" in server.stderr
