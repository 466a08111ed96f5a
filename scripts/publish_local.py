"""Publish to a local package index and install from it: the release path, proven.

``make publish-local`` runs this script. It

1. builds ``dist/`` first when it holds no wheel;
2. lays the distributions out as a PEP 503 "simple" index (``/simple/`` and
   ``/simple/ml-infra-utils/``, every link carrying its ``#sha256=`` digest);
3. serves that index with the standard library's ``http.server`` on 127.0.0.1,
   on a free port;
4. creates a fresh virtual environment and runs
   ``pip install --index-url http://127.0.0.1:PORT/simple/ ml-infra-utils`` in it,
   with the user's pip configuration switched off so nothing else is consulted;
5. imports the package there, runs ``ml-infra-utils --version``, checks both
   report the version that was built, and stops the server.

The same steps work against a real index: see docs/publishing.md.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import html
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "ml-infra-utils"


def normalize_name(name: str) -> str:
    """PEP 503 name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def build_simple_index(files: list[Path], root: Path, project: str = PROJECT) -> Path:
    """Write a PEP 503 simple index for *files* under *root*; return ``root/simple``."""
    simple = root / "simple"
    project_dir = simple / normalize_name(project)
    project_dir.mkdir(parents=True, exist_ok=True)
    links = []
    for path in sorted(files):
        shutil.copy2(path, project_dir / path.name)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        name = html.escape(path.name)
        links.append(f'<a href="{name}#sha256={digest}">{name}</a><br>')
    project_page = "\n".join(
        ["<!DOCTYPE html>", "<html><body>", *links, "</body></html>", ""]
    )
    (project_dir / "index.html").write_text(project_page, encoding="utf-8")
    name = normalize_name(project)
    (simple / "index.html").write_text(
        f'<!DOCTYPE html>\n<html><body>\n<a href="{name}/">{name}</a>\n'
        "</body></html>\n",
        encoding="utf-8",
    )
    return simple


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep pip's requests out of the terminal."""


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve *directory* on 127.0.0.1 (a free port); yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def install_and_check(index_url: str, venv: Path, expected_version: str) -> str:
    """Install the project from *index_url* into a new venv and check it imports.

    Returns the version the installed package reports.
    """
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # The user's pip configuration may add extra indexes or find-links; switch it
    # off so the package can only come from the index under test.
    env = dict(
        os.environ, PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1"
    )
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-cache-dir",
            "--index-url",
            index_url,
            PROJECT,
        ],
        check=True,
        env=env,
    )
    reported = subprocess.run(
        [str(python), "-c", "import ml_infra_utils; print(ml_infra_utils.__version__)"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    cli = subprocess.run(
        [str(venv / "bin" / "ml-infra-utils"), "--version"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    if reported != expected_version or cli != f"{PROJECT} {expected_version}":
        msg = (
            f"installed package reports {reported!r} and `{cli}`, "
            f"expected {expected_version!r}"
        )
        raise RuntimeError(msg)
    return reported


def built_version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dist",
        type=Path,
        default=ROOT / "dist",
        help="the directory of distributions to publish (default: dist/)",
    )
    args = parser.parse_args()
    dist: Path = args.dist
    if not list(dist.glob("*.whl")):
        print(f"no wheel in {dist}: building it", flush=True)
        subprocess.run(
            [sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
            check=True,
        )
    files = sorted(p for p in dist.iterdir() if p.suffix in {".whl", ".gz"})
    wheels = [p for p in files if p.suffix == ".whl"]
    if len(wheels) != 1:
        print(
            f"expected one wheel in {dist}, found {[p.name for p in wheels]}; "
            "run `make dist` for a clean dist/",
            file=sys.stderr,
        )
        return 1
    version = built_version(wheels[0])
    with tempfile.TemporaryDirectory(prefix="ml-infra-utils-index-") as tmp:
        build_simple_index(files, Path(tmp))
        with serve(Path(tmp)) as base_url:
            index_url = f"{base_url}/simple/"
            print(
                f"serving {', '.join(p.name for p in files)} at {index_url}", flush=True
            )
            installed = install_and_check(index_url, Path(tmp) / "venv", version)
    print(
        f"installed ml-infra-utils {installed} from the local index "
        "into a fresh venv: ok"
    )
    print("the server is stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
