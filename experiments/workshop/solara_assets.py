"""The workshop page's front-end files, installed next to the project so the page needs no
internet.

solara-server loads its JavaScript, CSS and fonts from a CDN at run time unless they are in its
proxy cache folder (`SOLARA_ASSETS_PROXY_CACHE_DIR`, default `$VIRTUAL_ENV/share/solara/cdn`).
The page needs four npm packages (17 MB unpacked, too big to keep in git); this module fetches
them once with `npm pack` from the npm registry - the same kind of registry pip uses - and
unpacks each into `<cache>/<name>@<version>/`. After that nothing is fetched, ever:

    python -m svsim.experiments.workshop.solara_assets          # fetch what is missing (CI, set-up)
    python -m svsim.experiments.workshop.solara_assets --check  # exit 1 if anything is missing

`svsim workshop` runs the same on first start, and points solara at the cache and at a CDN
address on 127.0.0.1 that answers nothing, so a missing file fails on the spot instead of
silently going to the internet. To prepare a laptop for a venue with no network, run this once
anywhere with network, or copy the folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGES = (
    ("@widgetti/solara-vuetify-app", "10.1.1"),
    ("@widgetti/vue-grid-layout", "2.3.13-alpha.2"),
    ("font-awesome", "4.5.0"),
    ("requirejs", "2.3.6"),
)
ENV = "SOLARA_ASSETS_PROXY_CACHE_DIR"
NO_CDN = "http://127.0.0.1:9/"  # the discard port: nothing answers, nothing leaves the machine


class AssetsError(RuntimeError):
    """The files are missing and cannot be fetched; one line saying what to do."""


def cache_dir() -> Path:
    """Where solara-server looks: $SOLARA_ASSETS_PROXY_CACHE_DIR, else its own default under
    the environment's prefix (the venv)."""
    env = os.environ.get(ENV)
    return Path(env) if env else Path(sys.prefix) / "share" / "solara" / "cdn"


def _folder(cache: Path, name: str, version: str) -> Path:
    return cache / f"{name}@{version}"


def missing(cache: Path | None = None) -> list[str]:
    cache = cache or cache_dir()
    return [
        f"{n}@{v}" for n, v in PACKAGES if not (_folder(cache, n, v) / "package.json").is_file()
    ]


def _unpack(tgz: Path, dest: Path) -> None:
    """Unpack an npm tarball into dest, stripping its leading 'package/' folder."""
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".unpack-"))
    try:
        with tarfile.open(tgz) as tar:
            members = []
            for m in tar.getmembers():
                parts = Path(m.name).parts
                if len(parts) < 2 or not (m.isfile() or m.isdir()):
                    continue
                m.name = str(Path(*parts[1:]))
                members.append(m)
            tar.extractall(tmp, members=members, filter="data")
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)  # whole or absent
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def install(cache: Path | None = None, quiet: bool = False) -> Path:
    """Fetch and unpack whatever is missing; return the cache folder."""
    cache = cache or cache_dir()
    todo = missing(cache)
    if not todo:
        return cache
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsError(
            f"the page's front-end files are missing from {cache} ({', '.join(todo)}) and npm "
            "is not installed to fetch them: install Node.js (apt-get install npm) and run "
            "'python -m svsim.experiments.workshop.solara_assets', or copy that folder from a "
            "machine that has it"
        )
    with tempfile.TemporaryDirectory() as tmp:
        for spec in todo:
            name, version = spec.rsplit("@", 1)
            if not quiet:
                print(f"workshop: fetching {spec} for the page (once; then it works offline)")
            done = subprocess.run(
                [npm, "pack", "--silent", spec, "--pack-destination", tmp],
                capture_output=True,
                text=True,
                timeout=300,
            )
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["no message"])[-1]
                raise AssetsError(f"npm pack {spec} failed: {last}")
            tgz = Path(tmp) / done.stdout.strip().splitlines()[-1]
            dest = _folder(cache, name, version)
            dest.parent.mkdir(parents=True, exist_ok=True)
            _unpack(tgz, dest)
    if missing(cache):
        raise AssetsError(f"still missing in {cache}: {', '.join(missing(cache))}")
    return cache


def use(cache: Path) -> None:
    """Point solara (imported or not yet) at the cache, and away from the internet."""
    os.environ[ENV] = str(cache)
    os.environ["SOLARA_ASSETS_PROXY"] = "true"
    os.environ["SOLARA_ASSETS_CDN"] = NO_CDN
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "false"
    os.environ["SOLARA_CHECK_VERSION"] = "false"
    if "solara" in sys.modules:
        import solara.settings

        solara.settings.assets.cdn = NO_CDN
        solara.settings.assets.proxy = True
    if "solara.server.settings" in sys.modules:
        import solara.server.settings as server_settings

        server_settings.assets.proxy_cache_dir = cache
        server_settings.telemetry.mixpanel_enable = False


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cache = Path(argv[-1]) if argv and not argv[-1].startswith("-") else cache_dir()
    if "--check" in argv:
        gone = missing(cache)
        print(f"missing in {cache}: {', '.join(gone)}" if gone else f"complete: {cache}")
        return 1 if gone else 0
    try:
        install(cache)
    except AssetsError as exc:
        print(f"solara_assets: error: {exc}", file=sys.stderr)
        return 1
    print(f"complete: {cache}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
