"""`qakb new DIR [--bank FILE.md]... [--title T]`: the site folder it makes, and what it refuses."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import pytest
from mkdocs.config import load_config

from conftest import serve
from projects import ROOT, SEED, qakb
from qakb.cli import main
from qakb.config import load_settings, plugin_options, read_mkdocs_file

BANK = """# Plots & "quotes": a bank
> https://example.org/source

## Charts

1. `What does this plot show?`
A curve: ![the curve](images/curve.png)
and, as raw HTML, <img src="images/more/bars.png" alt="bars">.

2. `Which plot type suits a distribution?`
A histogram. The same curve again: ![again](images/curve.png)
"""


def write_bank(folder: Path, text: str = BANK, name: str = "plots.md") -> Path:
    (folder / "images" / "more").mkdir(parents=True, exist_ok=True)
    (folder / "images" / "curve.png").write_bytes(b"\x89PNG curve")
    (folder / "images" / "more" / "bars.png").write_bytes(b"\x89PNG bars")
    (folder / "images" / "unused.png").write_bytes(b"\x89PNG unused")
    bank = folder / name
    bank.write_text(text, encoding="utf-8")
    return bank


def files_in(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def test_new_site_holds_config_content_images_readme_and_nothing_else(tmp_path, capsys):
    bank = write_bank(tmp_path / "mine")
    site = tmp_path / "site"
    assert main(["new", str(site), "--bank", str(bank)]) == 0
    assert files_in(site) == {"mkdocs.yml", "README.md", ".gitignore", "docs/about.md", "content/plots.md",
                              "content/images/curve.png", "content/images/more/bars.png", "requirements.txt",
                              ".github/workflows/pages.yml"}
    assert (site / "content" / "plots.md").read_bytes() == bank.read_bytes()
    assert (site / "content" / "images" / "more" / "bars.png").read_bytes() == b"\x89PNG bars"
    settings = load_settings(site)
    assert settings.site_name == 'Plots & "quotes": a bank'
    assert settings.site_description.startswith("2 interview questions and answers")
    assert plugin_options(read_mkdocs_file(site / "mkdocs.yml"), site / "mkdocs.yml") == {
        "content_dir": "content", "pyodide_snapshot": False}
    config = load_config(str(site / "mkdocs.yml"))  # mkdocs itself accepts the folder as it is
    assert "qakb" in config.plugins and "material/search" in config.plugins
    assert config.theme["font"] is False
    assert '# Plots & "quotes": a bank' in (site / "README.md").read_text(encoding="utf-8")
    assert "/site/" in (site / ".gitignore").read_text(encoding="utf-8")
    printed = capsys.readouterr().out
    assert "2 questions from plots.md and 2 image(s)" in printed
    assert f"cd {site} && qakb build && qakb serve" in printed


def test_without_a_bank_the_site_gets_an_example_bank_and_title_wins(tmp_path):
    site = tmp_path / "empty-folder"
    site.mkdir()
    assert main(["new", str(site), "--title", "Team questions"]) == 0
    assert files_in(site) >= {"content/example-bank.md", "mkdocs.yml"}
    settings = load_settings(site)
    assert settings.site_name == "Team questions"
    assert settings.site_description.startswith("4 interview questions")


def test_a_bank_without_a_title_names_the_site_after_its_folder(tmp_path):
    bank = tmp_path / "untitled.md"
    bank.write_text("1. `What is a question?`\nIts answer.\n", encoding="utf-8")
    assert main(["new", str(tmp_path / "interview-prep"), "--bank", str(bank)]) == 0
    assert load_settings(tmp_path / "interview-prep").site_name == "interview-prep"


@pytest.mark.parametrize("occupied", ["file inside", "a file"])
def test_an_existing_non_empty_target_is_refused_and_left_alone(tmp_path, capsys, occupied):
    site = tmp_path / "site"
    if occupied == "a file":
        site.write_text("mine", encoding="utf-8")
    else:
        site.mkdir()
        (site / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["new", str(site)]) == 1
    assert "already exists and is not empty" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.rglob("*")) == (
        ["site"] if occupied == "a file" else ["notes.txt", "site"])


@pytest.mark.parametrize("problem, message", [
    ("missing bank", "no such bank file"),
    ("bad bank", "item 1 has an empty answer"),
    ("same name", "two banks have the same file name"),
])
def test_bank_problems_stop_before_anything_is_written(tmp_path, capsys, problem, message):
    bank = write_bank(tmp_path / "mine")
    banks = [bank]
    if problem == "missing bank":
        banks = [tmp_path / "nowhere.md"]
    elif problem == "bad bank":
        bank.write_text("# T\n\n1. `What is a question?`\n\n2. `Another?`\nAn answer.\n", encoding="utf-8")
    else:
        banks.append(write_bank(tmp_path / "other"))
    before = files_in(tmp_path)
    assert main(["new", str(tmp_path / "site"), *(f"--bank={path}" for path in banks)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error, error
    if problem == "bad bank":
        assert f"{bank}:" in error, "the message points at the user's own bank file"
    assert files_in(tmp_path) == before and not (tmp_path / "site").exists()


def test_a_missing_image_is_a_warning_and_the_site_is_made(tmp_path, capsys):
    bank = write_bank(tmp_path / "mine")
    bank.write_text(BANK.replace("images/curve.png)\n", "images/gone.png)\n", 1), encoding="utf-8")
    assert main(["new", str(tmp_path / "site"), f"--bank={bank}"]) == 0
    error = capsys.readouterr().err
    assert f"warning: {bank}:" in error and "image 'images/gone.png' not found" in error, error
    assert (tmp_path / "site" / "content" / bank.name).read_bytes() == bank.read_bytes()


@pytest.mark.slow
def test_a_new_site_of_the_seed_builds_as_it_is(tmp_path):
    site = tmp_path / "seed-site"
    result = qakb(ROOT, "new", str(site), "--bank", str(SEED))
    assert result.returncode == 0, result.stderr
    # Sites without a topics.yml get their topics elsewhere (discovery); this one uses the seed's topics.
    shutil.copyfile(ROOT / "content" / "topics.yml", site / "content" / "topics.yml")
    result = qakb(site, "build")
    assert result.returncode == 0, result.stderr[-3000:]
    home = (site / "site" / "index.html").read_text(encoding="utf-8")
    assert "ML DL interview questions and answers</title>" in home
    assert '<script id="__qakb_search"' in home
    assert (site / "site" / "topics" / "convolutional-networks" / "index.html").is_file()
    assert (site / "site" / "assets" / "katex" / "katex.min.js").is_file()
    result = qakb(site, "ask", "--json", "what is a cnn")
    assert result.returncode == 0 and "What is a CNN?" in result.stdout, result.stderr


MATH_BANK = r"""# Statistics for interviews

## Distributions

1. `What is the variance of a random variable?`
The expected squared deviation from the mean: $\operatorname{Var}(X) = E[(X - \mu)^2]$.

$$
\sigma^2 = \frac{1}{n} \sum_{i=1}^{n} (x_i - \bar{x})^2
$$

2. `What does a histogram show?`
How often values fall into each bin:
![a histogram](images/histogram.png)

3. `What is a p-value?`
The probability, under the null hypothesis, of a result at least as extreme as the one observed.
"""
ONE_TOPIC = """topics:
  - slug: statistics
    title: Statistics
    description: Statistics, probability distributions, variance, histograms and hypothesis tests.
pins: {}
"""


def png_pixel() -> bytes:
    """A valid 1 x 1 PNG, so the browser can show it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def own_site(tmp_path_factory) -> Path:
    """`qakb new` of a bank with math and an image (and a topics.yml of one topic), built."""
    bank_dir = tmp_path_factory.mktemp("bank")
    (bank_dir / "images").mkdir()
    (bank_dir / "images" / "histogram.png").write_bytes(png_pixel())
    (bank_dir / "stats.md").write_text(MATH_BANK, encoding="utf-8")
    site = tmp_path_factory.mktemp("own") / "stats-site"
    result = qakb(ROOT, "new", str(site), "--bank", str(bank_dir / "stats.md"))
    assert result.returncode == 0, result.stderr
    (site / "content" / "topics.yml").write_text(ONE_TOPIC, encoding="utf-8")
    result = qakb(site, "build")
    assert result.returncode == 0, result.stderr[-3000:]
    return site / "site"


@pytest.mark.slow
@pytest.mark.browser
def test_an_own_site_typesets_math_shows_images_and_searches_offline(own_site, open_page):
    from test_browser import OPTION, search_from

    server = serve(own_site)
    try:
        browser = open_page()
        page = browser.page
        page.goto(server.url + "topics/statistics/")
        page.wait_for_selector(".arithmatex .katex")
        assert page.locator("span.arithmatex .katex").count() == 1
        assert page.locator("div.arithmatex .katex-display").count() == 1
        assert page.locator(".arithmatex .katex-error").count() == 0
        assert page.evaluate("document.fonts.check('1em KaTeX_Main')")
        image = page.locator("img[alt='a histogram']")
        assert image.evaluate("img => img.complete && img.naturalWidth") == 1
        search_from(page, server.url, "variance of a random variable")
        assert page.locator(OPTION).first.locator(".qakb-search__question").text_content() == (
            "What is the variance of a random variable?")
        foreign = [url for url in browser.requests if not url.startswith(server.url)]
        assert not foreign, f"requests left the local server: {foreign}"
        assert not browser.errors, browser.errors
    finally:
        server.stop()
