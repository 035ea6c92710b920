"""What static hosts refuse (qakb/plugin/host_limits.py): files over 25 MiB, sites over 20,000 files."""

from __future__ import annotations

from qakb.plugin import host_limits


def sparse(path, size: int) -> None:
    """A file of `size` bytes that takes no disk space."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        file.truncate(size)


def test_files_over_the_limit_are_named_largest_first_with_their_size(tmp_path):
    limit = host_limits.MAX_FILE_BYTES
    sparse(tmp_path / "search_index" / "big.json", limit + 1)
    sparse(tmp_path / "assets" / "pyodide" / "qakb-snapshot-abc.bin", 26_300_000)
    sparse(tmp_path / "index.html", limit)  # at the limit: taken
    size = host_limits.site_size(tmp_path)
    assert size.files == 3 and size.largest == ("assets/pyodide/qakb-snapshot-abc.bin", 26_300_000)
    assert size.oversized == [("assets/pyodide/qakb-snapshot-abc.bin", 26_300_000), ("search_index/big.json", limit + 1)]
    snapshot, index = host_limits.warnings(size, "none")
    assert snapshot.startswith("the site's assets/pyodide/qakb-snapshot-abc.bin is 25.1 MiB: Cloudflare Pages refuses "
                               "files over 25 MiB") and "leave pyodide_snapshot off" in snapshot
    assert index.startswith("the site's search_index/big.json is 25.0 MiB") and "nginx" in index


def test_a_site_of_more_files_than_cloudflare_takes_is_named(tmp_path, monkeypatch):
    for number in range(4):
        (tmp_path / f"page-{number}.html").write_bytes(b"x")
    monkeypatch.setattr(host_limits, "MAX_FILES", 3)
    size = host_limits.site_size(tmp_path)
    assert host_limits.warnings(size, "none") == ["the site holds 4 files: Cloudflare Pages takes at most 3"]
    assert "precompress: none leaves out the .gz/.br copies" in host_limits.warnings(size, "both")[0]
    monkeypatch.setattr(host_limits, "MAX_FILES", 4)
    assert host_limits.warnings(host_limits.site_size(tmp_path), "both") == []


def test_an_empty_site_has_no_largest_file(tmp_path):
    assert host_limits.site_size(tmp_path) == host_limits.SiteSize(0, ("", 0), [])
