"""Product pictures drawn from the data: a self-contained SVG tile per product.

Order exports have no images, and a shop without pictures is hard to browse, so every product
gets a tile: a background gradient whose colours come from a hash of the product id (stable
across restarts and workers, distinct between neighbours), a simple motif for its category and
the first words of its title. Pure text, no external references, cacheable forever per id.
"""

from __future__ import annotations

import colorsys
import hashlib
import re
from xml.sax.saxutils import escape

SIZE = 320
LINE_CHARS = 14
MAX_LINES = 3

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Motifs in a 100x100 box, drawn in white; each a handful of SVG primitives.
_W = 'fill="#fff"'
_S = 'fill="none" stroke="#fff" stroke-width="6" stroke-linecap="round" stroke-linejoin="round"'
MOTIFS: dict[str, str] = {
    "christmas": (
        f'<polygon {_W} points="50,4 61,37 96,37 68,58 79,92 50,71 21,92 32,58 4,37 39,37"/>'
    ),
    "candles-lighting": (
        f'<rect {_W} x="36" y="44" width="28" height="52" rx="3"/>'
        f'<path {_W} d="M50 6 C62 20 64 30 50 40 C36 30 38 20 50 6 Z"/>'
    ),
    "kitchen-dining": (
        f'<rect {_W} x="14" y="30" width="54" height="60" rx="8"/>'
        f'<path {_S} d="M68 44 h8 a12 12 0 0 1 0 26 h-8"/>'
        f'<path {_S} d="M30 8 q6 8 0 16 M46 8 q6 8 0 16"/>'
    ),
    "home-decor": (f'<path {_W} d="M50 92 L12 52 A20 20 0 0 1 50 22 A20 20 0 0 1 88 52 Z"/>'),
    "storage": (
        f'<rect {_W} x="10" y="34" width="80" height="56" rx="4"/>'
        f'<rect {_W} x="6" y="20" width="88" height="14" rx="3"/>'
        '<rect fill="#0003" x="40" y="48" width="20" height="8" rx="3"/>'
    ),
    "bags": (
        f'<path {_W} d="M18 36 H82 L90 94 H10 Z"/><path {_S} d="M34 40 V26 a16 16 0 0 1 32 0 V40"/>'
    ),
    "stationery": (
        f'<rect {_W} x="8" y="24" width="84" height="56" rx="4"/>'
        '<polyline fill="none" stroke="#0003" stroke-width="5" points="10,28 50,58 90,28"/>'
    ),
    "party": (
        f'<ellipse {_W} cx="50" cy="36" rx="26" ry="32"/>'
        f'<polygon {_W} points="50,66 44,76 56,76"/>'
        f'<path {_S} d="M50 76 q-10 10 0 22"/>'
    ),
    "toys-games": (
        f'<rect {_W} x="14" y="14" width="72" height="72" rx="12"/>'
        '<circle fill="#0004" cx="32" cy="32" r="7"/><circle fill="#0004" cx="50" cy="50" r="7"/>'
        '<circle fill="#0004" cx="68" cy="68" r="7"/>'
    ),
    "crafts": (
        f'<circle {_W} cx="50" cy="50" r="40"/>'
        '<circle fill="#0004" cx="38" cy="38" r="6"/><circle fill="#0004" cx="62" cy="38" r="6"/>'
        '<circle fill="#0004" cx="38" cy="62" r="6"/><circle fill="#0004" cx="62" cy="62" r="6"/>'
    ),
    "garden": (
        f'<path {_S} d="M50 56 V96 M50 80 q-18 -4 -22 -18 M50 74 q18 -4 22 -18"/>'
        f'<circle {_W} cx="50" cy="14" r="12"/><circle {_W} cx="33" cy="30" r="12"/>'
        f'<circle {_W} cx="67" cy="30" r="12"/><circle {_W} cx="40" cy="48" r="12"/>'
        f'<circle {_W} cx="60" cy="48" r="12"/><circle fill="#0003" cx="50" cy="33" r="9"/>'
    ),
    "jewellery-accessories": (
        f'<polygon {_W} points="30,10 70,10 92,34 50,92 8,34"/>'
        '<polyline fill="none" stroke="#0003" stroke-width="4" points="8,34 92,34"/>'
        '<polyline fill="none" stroke="#0003" stroke-width="4" '
        'points="30,10 40,34 50,92 60,34 70,10"/>'
    ),
    "bath-body": (
        f'<path {_W} d="M50 6 C66 32 80 48 80 64 A30 30 0 0 1 20 64 C20 48 34 32 50 6 Z"/>'
        '<path fill="none" stroke="#0003" stroke-width="5" stroke-linecap="round" '
        'd="M34 64 a16 16 0 0 0 14 16"/>'
    ),
    "textiles": (
        f'<path {_W} d="M12 14 Q50 24 88 14 Q78 50 88 86 Q50 76 12 86 Q22 50 12 14 Z"/>'
        '<path fill="none" stroke="#0003" stroke-width="3" stroke-dasharray="6 5" '
        'd="M24 26 Q50 33 76 26 Q69 50 76 74 Q50 67 24 74 Q31 50 24 26 Z"/>'
    ),
    "other": (
        f'<rect {_W} x="12" y="38" width="76" height="56" rx="4"/>'
        f'<rect {_W} x="6" y="26" width="88" height="16" rx="3"/>'
        '<rect fill="#0003" x="44" y="26" width="12" height="68"/>'
        f'<path {_S} d="M50 24 C36 4 20 14 34 24 Z M50 24 C64 4 80 14 66 24 Z"/>'
    ),
}


def _colour(h: float, s: float, lum: float) -> str:
    r, g, b = colorsys.hls_to_rgb(h % 1.0, lum, s)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def tile_colours(product_id: str) -> tuple[str, str]:
    """The tile's two gradient colours, derived from a hash of the product id.

    A hash (not the title) so the same product always looks the same, and neighbouring ids
    (85123A, 85123B) still look different. Mid-dark tones keep white text readable.
    """
    digest = hashlib.sha256(str(product_id).encode("utf-8")).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    sat = 0.45 + digest[2] / 255 * 0.25
    light = 0.36 + digest[3] / 255 * 0.10
    shift = 0.06 + digest[4] / 255 * 0.08
    return _colour(hue, sat, light), _colour(hue + shift, sat, light - 0.10)


def wrap_title(title: str, width: int = LINE_CHARS, max_lines: int = MAX_LINES) -> list[str]:
    """The title's first words in at most max_lines lines of about width characters."""
    words = re.sub(r"\s+", " ", _INVALID_XML.sub("", str(title or ""))).strip().split(" ")
    lines: list[str] = []
    current = ""
    for word in filter(None, words):
        while len(word) > width:  # a very long word is cut across lines
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current += " " + word
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        lines[-1] = (last[: width - 1] if len(last) >= width else last) + "…"
    return lines


def svg_tile(product_id: str, title: str, category_slug: str) -> str:
    """A 320x320 SVG picture for a product: hashed colours, category motif, title words.

    Used wherever the shop shows a product, since the data has no photos. The result is a
    complete, standalone document (role="img", a <title> for screen readers); every piece of
    text is XML-escaped, so titles containing &, < or quotes are safe.
    """
    top, bottom = tile_colours(product_id)
    gid = "g" + hashlib.sha256(str(product_id).encode("utf-8")).hexdigest()[:10]
    clean_title = re.sub(r"\s+", " ", _INVALID_XML.sub("", str(title or ""))).strip()
    motif = MOTIFS.get(category_slug, MOTIFS["other"])
    lines = wrap_title(clean_title) or [str(product_id)[:LINE_CHARS]]
    line_h = 30
    first_y = 232 + (MAX_LINES - len(lines)) * line_h // 2
    text = "".join(
        f'<tspan x="160" y="{first_y + i * line_h}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    label = escape(clean_title or str(product_id))
    aria = escape(clean_title or str(product_id), {'"': "&quot;"})
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" '
        f'width="{SIZE}" height="{SIZE}" role="img" aria-label="{aria}">'
        f"<title>{label}</title>"
        f'<defs><linearGradient id="{gid}" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{top}"/><stop offset="1" stop-color="{bottom}"/>'
        f"</linearGradient></defs>"
        f'<rect width="{SIZE}" height="{SIZE}" fill="url(#{gid})"/>'
        f'<g transform="translate(95 36) scale(1.3)" opacity="0.92">{motif}</g>'
        '<rect x="0" y="196" width="320" height="124" fill="#000" fill-opacity="0.18"/>'
        '<text fill="#fff" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, '
        'sans-serif" font-size="24" font-weight="600" text-anchor="middle" '
        f'letter-spacing="0.5">{text}</text>'
        "</svg>"
    )
