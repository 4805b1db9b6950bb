"""Fonts for drawing field values and audit trails in many scripts.

Text is drawn with TrueType fonts that reportlab embeds as subsets with a
ToUnicode map, so the drawn text can be searched and copied. No single free
font covers every script, so each character goes to the first font of a
fallback chain that has a glyph for it:

1. DejaVu Sans (Debian package ``fonts-dejavu-core``): Latin, Greek,
   Cyrillic, Hebrew, Arabic (including the presentation forms that shaping
   produces), symbols.
2. Droid Sans Fallback (Debian package ``fonts-droid-fallback``): Chinese,
   Japanese, Korean.
3. Bitstream Vera Sans, shipped inside the reportlab wheel: Latin only, but
   always present, so a machine without the Debian fonts still draws Latin
   text instead of failing.

A missing font file is skipped with one warning per process. A character
that no font in the chain covers is replaced by U+FFFD (REPLACEMENT
CHARACTER) when a font has that glyph, and by ``?`` otherwise. Control and
bidirectional formatting characters are dropped, and other whitespace
becomes a plain space.

Fonts are parsed once per process and registered with reportlab under fixed
names, so repeated documents reuse them.
"""

from __future__ import annotations

import functools
import logging
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import reportlab
from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

logger = logging.getLogger(__name__)

# reportlab ASCII85-encodes its streams by default. Binary streams are
# smaller and faster to write, so this process-wide setting turns that off.
rl_config.useA85 = 0

REPLACEMENT_CHARACTER = "\ufffd"
LAST_RESORT_CHARACTER = "?"

REPORTLAB_FONTS = Path(reportlab.__file__).parent / "fonts"


@dataclass(frozen=True)
class FontSource:
    """One font in the fallback chain and the files that may provide it."""

    name: str
    paths: tuple[Path, ...]
    package: str


REGULAR_SOURCES: tuple[FontSource, ...] = (
    FontSource(
        "DocRelaySans",
        (
            Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
            Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
        ),
        "fonts-dejavu-core",
    ),
    FontSource(
        "DocRelayCJK",
        (
            # The plain file covers Hangul, which the "Full" file lacks.
            Path("/usr/share/fonts-droid-fallback/truetype/DroidSansFallback.ttf"),
            Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
        ),
        "fonts-droid-fallback",
    ),
    FontSource("DocRelayVera", (REPORTLAB_FONTS / "Vera.ttf",), "reportlab"),
)

BOLD_SOURCES: tuple[FontSource, ...] = (
    FontSource(
        "DocRelaySansBold",
        (
            Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
            Path("/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
        ),
        "fonts-dejavu-core",
    ),
    FontSource("DocRelayVeraBold", (REPORTLAB_FONTS / "VeraBd.ttf",), "reportlab"),
    *REGULAR_SOURCES,
)

# Bidirectional controls and joiners steer layout that is already applied
# before drawing, so they have no glyph to draw.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


@dataclass(frozen=True)
class LoadedFont:
    """A font registered with reportlab, with the code points it covers."""

    name: str
    path: Path
    coverage: frozenset[int]
    ascent: float
    descent: float


@dataclass(frozen=True)
class TextRun:
    """A piece of text drawn with one font."""

    font: str
    text: str


class FontChain:
    """An ordered list of fonts; each character uses the first that covers it."""

    def __init__(self, fonts: list[LoadedFont]) -> None:
        if not fonts:
            raise RuntimeError("no usable font: even reportlab's bundled Vera.ttf is missing")
        self.fonts = fonts
        self.primary = fonts[0]
        self._by_char: dict[str, str | None] = {}
        self._advances: dict[str, float] = {}

    def font_for(self, char: str) -> str | None:
        """Return the name of the first font that has a glyph for ``char``."""
        cached = self._by_char.get(char, "")
        if cached != "":
            return cached
        code = ord(char)
        found = next((f.name for f in self.fonts if code in f.coverage), None)
        self._by_char[char] = found
        return found

    def path_of(self, font_name: str) -> Path:
        return next(f.path for f in self.fonts if f.name == font_name)

    def clean(self, text: str) -> str:
        """Apply the replacement rule so that every character has a font."""
        out: list[str] = []
        for char in text.replace("\r\n", "\n").replace("\r", "\n"):
            if char == "\n":
                out.append(char)
                continue
            category = unicodedata.category(char)
            if char in "\t\v\f" or category in ("Zs", "Zl", "Zp"):
                char = " "
            elif category in _DROPPED_CATEGORIES:
                continue
            if self.font_for(char) is None:
                char = self._replacement()
            out.append(char)
        return "".join(out)

    def runs(self, text: str) -> list[TextRun]:
        """Split cleaned text into runs that each use one font."""
        fonts: list[str] = []
        pieces: list[list[str]] = []
        for char in text:
            font = self.font_for(char) or self.primary.name
            # A combining mark stays with its base character's font.
            if fonts and unicodedata.combining(char):
                font = fonts[-1]
            if fonts and fonts[-1] == font:
                pieces[-1].append(char)
            else:
                fonts.append(font)
                pieces.append([char])
        return [TextRun(font, "".join(chars)) for font, chars in zip(fonts, pieces, strict=True)]

    def width(self, text: str, size: float) -> float:
        """Measure cleaned text in points at ``size``.

        Widths are summed per character, which matches how reportlab draws
        TrueType text (it applies no kerning).
        """
        advances = self._advances
        total = 0.0
        for char in text:
            advance = advances.get(char)
            if advance is None:
                font = self.font_for(char) or self.primary.name
                advance = pdfmetrics.stringWidth(char, font, 1.0)
                advances[char] = advance
            total += advance
        return total * size

    def _replacement(self) -> str:
        if self.font_for(REPLACEMENT_CHARACTER) is not None:
            return REPLACEMENT_CHARACTER
        return LAST_RESORT_CHARACTER


_lock = threading.Lock()
_loaded: dict[str, LoadedFont | None] = {}


def _load(source: FontSource) -> LoadedFont | None:
    with _lock:
        if source.name in _loaded:
            return _loaded[source.name]
        font = None
        for path in source.paths:
            if path.is_file():
                font = _register(source.name, path)
                break
        if font is None:
            logger.warning(
                "Font %s not found (install the %s package); text falls back to other fonts",
                source.name,
                source.package,
                extra={"action": "pdf_font_missing", "font": source.name},
            )
        _loaded[source.name] = font
        return font


def _register(name: str, path: Path) -> LoadedFont:
    ttf = TTFont(name, str(path))
    pdfmetrics.registerFont(ttf)
    face = ttf.face
    return LoadedFont(
        name=name,
        path=path,
        coverage=frozenset(face.charToGlyph),
        ascent=face.ascent / 1000.0,
        descent=face.descent / 1000.0,
    )


@functools.cache
def regular_chain() -> FontChain:
    """Return the process-wide fallback chain for regular text."""
    return FontChain([f for f in map(_load, REGULAR_SOURCES) if f is not None])


@functools.cache
def bold_chain() -> FontChain:
    """Return the process-wide fallback chain for headings."""
    return FontChain([f for f in map(_load, BOLD_SOURCES) if f is not None])
