"""The page's front-end files (experiments/workshop/solara_assets.py): each npm tarball is pinned by
npm's integrity hash and checked before anything is unpacked. A stand-in `npm` serves the tarballs
here; the real download is in the slow tier."""

from __future__ import annotations

import io
import json
import stat
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import require_tool
from svsim.experiments.workshop import solara_assets as sa

FAKE_NPM = """#!{python}
# `npm pack --silent SPEC --pack-destination DIR`: copy the prepared tarball for SPEC into DIR
import shutil, sys
from pathlib import Path
spec, dest = sys.argv[3], Path(sys.argv[5])
name = spec.lstrip("@").replace("/", "-").replace("@", "-") + ".tgz"
shutil.copy(Path({shelf!r}) / name, dest / name)
print(name)
"""


def tarball(spec: str, text: str) -> bytes:
    """An npm-style tarball (package/package.json, package/index.js) for NAME@VERSION."""
    name, version = spec.rsplit("@", 1)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for path, body in (
            ("package/package.json", json.dumps({"name": name, "version": version})),
            ("package/index.js", text),
        ):
            data = body.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def shelf(tmp_path, monkeypatch) -> Path:
    """A folder of tarballs that a stand-in `npm` (found first on PATH) hands out."""
    shelf, bin_dir = tmp_path / "shelf", tmp_path / "bin"
    shelf.mkdir()
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM.format(python=sys.executable, shelf=str(shelf)))
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return shelf


def stock(shelf: Path, texts: dict) -> dict:
    """Put a tarball for every package on the shelf (given text or the default); their hashes."""
    hashes = {}
    for name, version in sa.PACKAGES:
        spec = f"{name}@{version}"
        path = shelf / (spec.lstrip("@").replace("/", "-").replace("@", "-") + ".tgz")
        path.write_bytes(tarball(spec, texts.get(spec, "// the real thing")))
        hashes[spec] = sa.integrity(path)
    return hashes


def test_every_package_is_pinned_by_a_sha512_integrity_hash():
    specs = {f"{n}@{v}" for n, v in sa.PACKAGES}
    assert set(sa.INTEGRITY) == specs
    for spec in specs:
        assert sa.pinned(spec) == sa.INTEGRITY[spec]
        assert sa.INTEGRITY[spec].startswith("sha512-") and len(sa.INTEGRITY[spec]) == 95


@pytest.mark.parametrize(
    "bad", ["", "sha1-abc=", "sha512-tooshort==", "sha512-" + "A" * 88], ids=str.__len__
)
def test_a_malformed_pin_is_refused_in_one_line_before_any_fetch(monkeypatch, tmp_path, bad):
    spec = "requirejs@2.3.6"
    monkeypatch.setitem(sa.INTEGRITY, spec, bad)
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm: the pin is checked first
    with pytest.raises(sa.AssetsError) as exc:
        sa.install(tmp_path / "cache", quiet=True)
    assert str(exc.value) == f"{spec}: pinned integrity {bad!r} is not a sha512 hash (sha512-...)"


def test_tarballs_matching_their_pins_are_unpacked(shelf, tmp_path, monkeypatch):
    for spec, value in stock(shelf, {}).items():
        monkeypatch.setitem(sa.INTEGRITY, spec, value)
    cache = tmp_path / "cache"
    assert sa.install(cache, quiet=True) == cache
    assert sa.missing(cache) == []
    assert (cache / "requirejs@2.3.6" / "index.js").read_text() == "// the real thing"


def test_a_tarball_with_other_contents_is_refused_and_nothing_is_unpacked(
    shelf, tmp_path, monkeypatch
):
    """One tampered package (the third fetched) stops the lot: the others, already downloaded
    and correct, are not unpacked either."""
    good = stock(shelf, {})
    for spec, value in good.items():
        monkeypatch.setitem(sa.INTEGRITY, spec, value)
    spec = "font-awesome@4.5.0"
    got = stock(shelf, {spec: "// tampered"})[spec]
    cache = tmp_path / "cache"
    with pytest.raises(sa.AssetsError) as exc:
        sa.install(cache, quiet=True)
    assert str(exc.value) == (
        f"{spec}: the downloaded tarball fails its integrity check (expected {good[spec]}, "
        f"got {got}); nothing was installed"
    )
    assert "\n" not in str(exc.value)
    assert not cache.exists() or not any(cache.rglob("*")), list(cache.rglob("*"))
    assert len(sa.missing(cache)) == len(sa.PACKAGES)


def test_the_shipped_pins_refuse_a_stand_in_tarball(shelf, tmp_path):
    """With the real pins, a tarball that is not npm's is refused (the check is on)."""
    stock(shelf, {})
    with pytest.raises(sa.AssetsError, match="fails its integrity check"):
        sa.install(tmp_path / "cache", quiet=True)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


@pytest.mark.slow
def test_the_real_tarballs_from_npm_match_their_pins(tmp_path):
    require_tool("npm")
    cache = tmp_path / "cache"
    assert sa.install(cache, quiet=True) == cache
    assert sa.missing(cache) == []
