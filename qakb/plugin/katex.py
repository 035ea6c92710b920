"""Math, typeset in the browser by KaTeX served with the site (no CDN).

pymdownx.arithmatex (generic mode) leaves the TeX in `.arithmatex` elements;
assets/qakb/math.js hands each to KaTeX. The site gets KaTeX's script, its
stylesheet and the fonts that stylesheet names, under assets/katex/. The stylesheet
offers each font as woff2, woff and ttf; every browser that runs KaTeX reads woff2,
so the stylesheet is cut to woff2 and the site carries a third of the font bytes.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

SITE_DIR = "assets/katex/"
SCRIPT = "katex.min.js"
STYLESHEET = "katex.min.css"

_OLDER_FONT_FORMATS = re.compile(r',\s*url\([^)]*\)\s*format\(["\'](?:woff|truetype)["\']\)')
_URL = re.compile(r'url\(\s*["\']?([^"\')]+)["\']?\s*\)')


def woff2_only(stylesheet: str) -> str:
    """The stylesheet with every @font-face `src` cut to its woff2 entry."""
    return _OLDER_FONT_FORMATS.sub("", stylesheet)


def site_files(node_modules: Path, config) -> list[File]:
    """assets/katex/: the script, the woff2-only stylesheet and every font it names."""
    dist = node_modules / "katex" / "dist"
    try:
        stylesheet = woff2_only((dist / STYLESHEET).read_text("utf-8"))
    except FileNotFoundError:
        raise PluginError(f"KaTeX is incomplete in {dist.parent}: delete {node_modules.parent} "
                          "and build again to reinstall it.") from None
    fonts = sorted(set(_URL.findall(stylesheet)))
    missing = [name for name in [SCRIPT, *fonts] if not (dist / name).is_file()]
    if missing:
        raise PluginError(f"KaTeX is incomplete in {dist} ({', '.join(missing)} missing): delete "
                          f"{node_modules.parent} and build again to reinstall it.")
    return [
        File.generated(config, SITE_DIR + SCRIPT, abs_src_path=str(dist / SCRIPT)),
        File.generated(config, SITE_DIR + STYLESHEET, content=stylesheet),
        *(File.generated(config, SITE_DIR + font, abs_src_path=str(dist / font)) for font in fonts),
    ]
