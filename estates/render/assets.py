"""Third-party web assets, inlined, and safe embedding of data in HTML.

Every map ``estates`` writes is one self-contained HTML file: it must open from
a USB stick, an e-mail attachment or a locked-down NHS desktop with no network.
So Leaflet's script and stylesheet are read, at build time, from the installed
and pinned ``xstatic-leaflet`` package and written inline; the images the
stylesheet refers to (``images/layers.png`` ...) become ``data:`` URIs. No
third-party code is committed to this repository and no CDN is ever named.

The helpers here also embed text safely: :func:`json_for_script` makes JSON
that cannot close the ``<script>`` element it sits in, and :func:`inline_script`
and :func:`inline_style` guard the closing tags of third-party code.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "ScriptJson",
    "inline_script",
    "inline_style",
    "json_for_script",
    "json_object_for_script",
    "leaflet_css",
    "leaflet_js",
    "leaflet_version",
    "package_text",
]

_INSTALL_HINT = "install it with: pip install 'xstatic-leaflet==1.9.3.0' (or pip install estates)"

_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}

# ``url(images/layers.png)``, with or without quotes.
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(images/[A-Za-z0-9_.\-]+)\1\s*\)""")
# A source-map comment makes a browser's developer tools fetch a file that is
# not shipped; drop it.
_SOURCE_MAP = re.compile(r"^\s*//# sourceMappingURL=\S*\s*$", re.MULTILINE)
_SOURCE_MAP_CSS = re.compile(r"/\*# sourceMappingURL=\S*\s*\*/")


def _leaflet_dir() -> Path:
    """Return the folder of the installed XStatic-Leaflet files."""
    try:
        import xstatic.pkg.leaflet as xs_leaflet
    except ImportError as err:  # pragma: no cover - depends on the environment
        msg = f"the maps need Leaflet from the xstatic-leaflet package; {_INSTALL_HINT}"
        raise ImportError(msg) from err
    return Path(xs_leaflet.BASE_DIR)


def leaflet_version() -> str:
    """Return the version of the Leaflet files that are inlined, e.g. ``"1.9.3"``."""
    import xstatic.pkg.leaflet as xs_leaflet

    return str(xs_leaflet.VERSION)


@lru_cache(maxsize=1)
def leaflet_js() -> str:
    """Return Leaflet's minified script, with its licence comment, ready to inline.

    Returns
    -------
    str
        The text of ``leaflet.js`` from the installed ``xstatic-leaflet``,
        without its source-map comment.

    Raises
    ------
    ImportError
        If ``xstatic-leaflet`` is not installed; the message gives the
        ``pip install`` command.
    """
    text = (_leaflet_dir() / "leaflet.js").read_text(encoding="utf-8")
    return _SOURCE_MAP.sub("", text).rstrip() + "\n"


@lru_cache(maxsize=1)
def leaflet_css() -> str:
    """Return Leaflet's stylesheet with every image it names as a ``data:`` URI.

    Returns
    -------
    str
        The text of ``leaflet.css`` in which ``url(images/...)`` is replaced by
        ``url("data:image/png;base64,...")``, so the stylesheet needs no other file.

    Raises
    ------
    ImportError
        If ``xstatic-leaflet`` is not installed.
    FileNotFoundError
        If the stylesheet names an image the package does not ship.
    """
    base = _leaflet_dir()
    text = (base / "leaflet.css").read_text(encoding="utf-8")

    def to_data_uri(match: re.Match[str]) -> str:
        path = base / match.group(2)
        mime = _MIME.get(path.suffix.lower(), "application/octet-stream")
        payload = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'url("data:{mime};base64,{payload}")'

    return _SOURCE_MAP_CSS.sub("", _CSS_URL.sub(to_data_uri, text))


def inline_script(code: str) -> str:
    r"""Wrap JavaScript in a ``<script>`` element that nothing inside can close.

    Parameters
    ----------
    code : str
        JavaScript source.

    Returns
    -------
    str
        ``<script>...</script>``, with any ``</script`` inside the code
        written as ``<\/script`` (the same string to JavaScript).

    Examples
    --------
    >>> print(inline_script('var s = "</script>";'))
    <script>
    var s = "<\/script>";
    </script>
    """
    safe = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    return f"<script>\n{safe}\n</script>"


def inline_style(css: str) -> str:
    r"""Wrap CSS in a ``<style>`` element that nothing inside can close.

    Examples
    --------
    >>> print(inline_style("p { color: red }"))
    <style>
    p { color: red }
    </style>
    """
    safe = re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)
    return f"<style>\n{safe}\n</style>"


def json_for_script(obj: Any) -> str:
    r"""Serialise ``obj`` as compact JSON that is safe inside an HTML ``<script>``.

    ``<``, ``>`` and ``&`` are written as ``\u003c``, ``\u003e`` and
    ``\u0026`` so no value can close the element or open a comment; the text
    is ASCII, so the line separators U+2028/U+2029 are escaped too. Keys keep their order, so the
    same input gives the same bytes. NaN and infinity are refused: map ``None``
    to ``null`` before calling.

    Parameters
    ----------
    obj : Any
        A JSON-serialisable value.

    Returns
    -------
    str
        The JSON text, ASCII only.

    Raises
    ------
    ValueError
        If ``obj`` holds NaN or infinity.

    Examples
    --------
    >>> print(json_for_script({"name": "<img src=x onerror=alert(1)>", "ha": 1.5}))
    {"name":"\u003cimg src=x onerror=alert(1)\u003e","ha":1.5}
    """
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class ScriptJson(str):
    """JSON text already written as :func:`json_for_script` writes it, to be put in as it is."""

    __slots__ = ()


def json_object_for_script(members: Mapping[str, Any]) -> str:
    r"""Return ``json_for_script(dict(members))``, each :class:`ScriptJson` member's text as it is.

    A large member (the map's site rows) can so be written by a faster,
    column-wise writer and spliced in, rather than encoded again.

    Examples
    --------
    >>> print(json_object_for_script({"a": "<b>", "rows": ScriptJson("[[1,2]]")}))
    {"a":"\u003cb\u003e","rows":[[1,2]]}
    """
    parts = [
        json_for_script(key) + ":" + (v if isinstance(v, ScriptJson) else json_for_script(v))
        for key, v in members.items()
    ]
    return "{" + ",".join(parts) + "}"


def package_text(name: str) -> str:
    """Return one of the package's own page assets (``estates/render/static/``) as text.

    The text starts with a newline, as it is inlined after an opening tag.
    """
    asset = resources.files("estates.render").joinpath("static", name)
    return "\n" + asset.read_text(encoding="utf-8")
