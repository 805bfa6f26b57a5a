"""folium elements that write text verbatim, and element ids in build order.

folium's ``MacroElement`` re-parses what it renders as a Jinja template, so
data reaching it could be evaluated (``{{ ... }}``) and is slow to parse when
large; the pages' own JavaScript and data go through :class:`Raw` instead.
folium draws element ids at random; :func:`number_elements` numbers them in
build order, so the same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    import folium
    from branca.element import Element, Figure, MacroElement
    from folium.map import Layer
except ImportError as _err:  # pragma: no cover - depends on the environment
    msg = (
        "the HTML maps need folium; install it with: pip install 'folium>=0.17' "
        "(or pip install estates)"
    )
    raise ImportError(msg) from _err

# folium is re-exported so that every module drawing a page gets it from here,
# with the install hint if it is missing.
__all__ = ["JsBlock", "JsLayer", "Raw", "folium", "number_elements"]


class Raw(Element):
    """An element that renders a fixed string, never parsed as a template.

    folium's ``MacroElement`` re-parses rendered output as a Jinja template, so
    data reaching it could be evaluated (``{{ ... }}``) and is slow to parse
    when large. Everything this module emits goes through this class instead.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Raw"
        self._text = text

    def render(self, **kwargs: Any) -> str:
        """Return the fixed text."""
        return self._text


class JsLayer(Layer):
    """A folium layer whose JavaScript is made by a Python function.

    ``make_js(var)`` returns statements that define ``var`` as a Leaflet layer.
    Being a :class:`folium.map.Layer`, it is listed by ``folium.LayerControl``.
    """

    def __init__(
        self,
        make_js: Callable[[str], str],
        *,
        name: str,
        overlay: bool,
        show: bool,
        control: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "EstatesLayer"
        self._make_js = make_js

    def render(self, **kwargs: Any) -> None:
        """Add this element's JavaScript to the page's script."""
        figure = self.get_root()
        var = self.get_name()
        js = self._make_js(var)
        if self.show:
            js += f"\n{var}.addTo({self._parent.get_name()});"
        figure.script.add_child(Raw(js), name=var)
        for child in self._children.values():
            child.render(**kwargs)


class JsBlock(MacroElement):
    """Statements added to the page's script, after the elements before it."""

    def __init__(self, make_js: Callable[[str], str]) -> None:
        super().__init__()
        self._name = "EstatesScript"
        self._make_js = make_js

    def render(self, **kwargs: Any) -> None:
        """Add this element's JavaScript to the page's script."""
        figure = self.get_root()
        figure.script.add_child(Raw(self._make_js(self._parent.get_name())), name=self.get_name())


def number_elements(root: Element) -> None:
    """Give every element a sequential id instead of folium's random one."""
    counter = 0
    stack: list[Element] = [root]
    seen: set[int] = set()
    while stack:
        el = stack.pop(0)
        if id(el) in seen:
            continue
        seen.add(id(el))
        counter += 1
        el._id = str(counter)
        kids = list(el._children.values())
        if isinstance(el, Figure):
            kids = [el.header, el.html, el.script, *kids]
        stack.extend(kids)
