"""The workshop page's front-end files, installed next to the project so the page needs no
internet.

solara-server loads its JavaScript, CSS and fonts from a CDN at run time unless they are in its
proxy cache folder (`SOLARA_ASSETS_PROXY_CACHE_DIR`, default `$VIRTUAL_ENV/share/solara/cdn`).
The page needs four npm packages (17 MB unpacked, too big to keep in git); this module fetches
them once with `npm pack` from the npm registry - the same kind of registry pip uses - checks
each tarball against the sha512 integrity hash pinned here (the registry's `dist.integrity`), and
only when all match unpacks each into `<cache>/<name>@<version>/`. After that nothing is fetched,
ever:

    python -m svsim.experiments.workshop.solara_assets          # fetch what is missing (CI, set-up)
    python -m svsim.experiments.workshop.solara_assets --check  # exit 1 if anything is missing

`svsim workshop` runs the same on first start, and points solara at the cache and at a CDN
address on 127.0.0.1 that answers nothing, so a missing file fails on the spot instead of
silently going to the internet. To prepare a laptop for a venue with no network, run this once
anywhere with network, or copy the folder.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
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
# npm's integrity hash of each tarball (`npm view NAME@VERSION dist.integrity`, cross-checked
# against the sha512 of the tarball `npm pack` downloads): a tarball that differs is refused
INTEGRITY = {
    "@widgetti/solara-vuetify-app@10.1.1": "sha512-Cdu6G7KIBeohT2jyeQUEDr61dhEozY23St+iDwfA3+Zy"
    "PZyoIza/nS4W2g8+dbs0Xhb+WQnXlaRI92TLgeY/Jw==",
    "@widgetti/vue-grid-layout@2.3.13-alpha.2": "sha512-zCPKe2r09eLUDl1NcdL66oPELDsbC07Z2xejPiQp"
    "PbE8hLITcr0DHvPEdL5UITQQilordKJwcxJXDE/QWo/KUA==",
    "font-awesome@4.5.0": "sha512-XGGY8CN/NT8e5fKOC/K7CESNQ3+2oYOfZqwZcKgEMtcmTiHtFIH+XZWRoU0Htcdw"
    "htSkpWXLfTIUlTdJ4PhX8A==",
    "requirejs@2.3.6": "sha512-ipEzlWQe6RK3jkzikgCupiTbTvm4S0/CAU5GlgptkN5SO6F3u0UD0K18wy6ErDqiCyP4"
    "J4YYe1HuAShvsxePLg==",
}
SRI = re.compile(r"sha512-[A-Za-z0-9+/]{86}==")  # 64 bytes, base64
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


def integrity(path: Path) -> str:
    """npm's integrity string of a file ("sha512-" and the base64 of its SHA-512)."""
    digest = hashlib.sha512()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode("ascii")


def pinned(spec: str) -> str:
    """The integrity hash pinned for NAME@VERSION; refused if absent or not a sha512 SRI string."""
    value = INTEGRITY.get(spec, "")
    if not SRI.fullmatch(value):
        raise AssetsError(f"{spec}: pinned integrity {value!r} is not a sha512 hash (sha512-...)")
    return value


def verify(tgz: Path, spec: str) -> None:
    """Refuse a downloaded tarball whose sha512 is not the one pinned for it."""
    expected, got = pinned(spec), integrity(tgz)
    if got != expected:
        raise AssetsError(
            f"{spec}: the downloaded tarball fails its integrity check (expected {expected}, "
            f"got {got}); nothing was installed"
        )


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


def _fetch(npm: str, spec: str, tmp: Path, quiet: bool) -> Path:
    """Download NAME@VERSION's tarball into tmp with `npm pack`; its path."""
    if not quiet:
        print(f"workshop: fetching {spec} for the page (once; then it works offline)")
    done = subprocess.run(
        [npm, "pack", "--silent", spec, "--pack-destination", str(tmp)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise AssetsError(f"npm pack {spec} failed: {last}")
    return tmp / done.stdout.strip().splitlines()[-1]


def install(cache: Path | None = None, quiet: bool = False) -> Path:
    """Fetch whatever is missing, check every tarball against its pinned hash, then unpack them;
    return the cache folder. A mismatch refuses with one line and unpacks nothing."""
    cache = cache or cache_dir()
    todo = missing(cache)
    if not todo:
        return cache
    for spec in todo:  # a package without a valid pin is refused before anything is fetched
        pinned(spec)
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsError(
            f"the page's front-end files are missing from {cache} ({', '.join(todo)}) and npm "
            "is not installed to fetch them: install Node.js (apt-get install npm) and run "
            "'python -m svsim.experiments.workshop.solara_assets', or copy that folder from a "
            "machine that has it"
        )
    with tempfile.TemporaryDirectory() as tmp:
        tarballs = {spec: _fetch(npm, spec, Path(tmp), quiet) for spec in todo}
        for spec, tgz in tarballs.items():  # all checked before any is unpacked
            verify(tgz, spec)
        for spec, tgz in tarballs.items():
            dest = _folder(cache, *spec.rsplit("@", 1))
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
