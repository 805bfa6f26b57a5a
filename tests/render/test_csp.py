"""The pages' Content-Security-Policy: only the page's own scripts run, by their hashes.

``script-src`` lists the SHA-256 hash of every inline script of a map page and
nothing else (no ``'unsafe-inline'``), so an inline event handler or a
``<script>`` that markup in the data might smuggle in cannot run. The unit
tests parse every page ``render_maps`` writes; the browser tests build the
bundled data with hostile ``--tiles-attribution`` text and open the pages in
Chromium with the network blocked (tile requests are answered with a blank
PNG from the test, nothing leaves the machine).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from browser import Watch, chromium_path, launch, make_fixture
from click.testing import CliRunner

from estates.cli import main
from estates.logs import reset_logging
from estates.render.assets import json_for_script
from estates.render.maps import render_maps
from estates.render.page import csp, script_hashes, seal_scripts, splice_data

PAGES = [
    "index.html",
    "london.html",
    "ncl_estates.html",
    "hackney_integration.html",
    "lewisham_integration.html",
    "haringey_prevention.html",
    "bhr_aco.html",
]
TILES = "https://tiles.invalid/{z}/{x}/{y}.png"
ATTRIBUTION = "<img src=x onerror=alert(1)> <script>alert(2)</script> <b onmouseover=alert(3)>b</b>"
#: A 1x1 transparent PNG, the answer to every tile request.
BLANK_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


class _Page(HTMLParser):
    """The policy, the scripts (attributes and text) and every attribute of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.policy: str | None = None
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self._script: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes += [(tag, name, value) for name, value in attrs]
        found = dict(attrs)
        if tag == "meta" and found.get("http-equiv") == "Content-Security-Policy":
            self.policy = found["content"]
        if tag == "script":
            self._script, self._text = found, []

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def _script_src(policy: str) -> list[str]:
    [directive] = [d.strip() for d in policy.split(";") if d.strip().startswith("script-src")]
    return directive.split()[1:]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("csp")
    render_maps(*make_fixture(), out)
    return out


@pytest.mark.parametrize("name", PAGES[1:])
def test_map_policy_lists_the_hash_of_every_inline_script_and_nothing_else(rendered, name):
    page = _parse(rendered / name)
    assert page.policy is not None
    sources = _script_src(page.policy)
    assert "'unsafe-inline'" not in sources
    assert "'unsafe-eval'" not in sources
    run = [text for attrs, text in page.scripts if "src" not in attrs and "type" not in attrs]
    assert len(run) >= 3  # Leaflet, the page's script, the script making the map
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(t.encode()).digest()).decode() + "'"
        for t in run
    ]
    assert sorted(set(hashes)) == sorted(sources)
    # The JSON data block is never run, so it needs no hash.
    assert [a.get("type") for a, _ in page.scripts if "type" in a] == ["application/json"]
    assert "'unsafe-inline'" in page.policy.split("style-src")[1].split(";")[0]


def test_index_page_allows_no_script(rendered):
    page = _parse(rendered / "index.html")
    assert page.policy is not None
    assert _script_src(page.policy) == ["'none'"]
    assert page.scripts == []


@pytest.mark.parametrize("name", PAGES)
def test_no_page_has_an_inline_event_handler_or_script_url(rendered, name):
    page = _parse(rendered / name)
    handlers = [(tag, attr) for tag, attr, _ in page.attributes if attr.startswith("on")]
    assert handlers == []
    urls = [
        (tag, attr, value)
        for tag, attr, value in page.attributes
        if attr in {"href", "src", "action"} and (value or "").strip().lower().startswith("javas")
    ]
    assert urls == []


def test_sealing_needs_the_placeholder_and_keeps_the_scripts():
    head = csp(tiles=False)
    assert "sha256" not in head
    html = f"<html><head>{head}</head><body><script>var a = 1;</script></body></html>"
    sealed = seal_scripts(html)
    digest = base64.b64encode(hashlib.sha256(b"var a = 1;").digest()).decode()
    assert f"script-src 'sha256-{digest}';" in sealed
    assert sealed.endswith("<script>var a = 1;</script></body></html>")
    with pytest.raises(ValueError, match="no script policy"):
        seal_scripts(sealed)


def test_data_is_spliced_into_the_sealed_page_once_and_cannot_close_its_script():
    slot = '<script type="application/json" id="estates-data"><estates-data-slot></script>'
    page = f"<html><head>{csp(tiles=False)}</head><body>{slot}<script>go();</script></body>"
    sealed = seal_scripts(page)
    data = json_for_script({"name": "</script><script>alert(1)</script>"})
    whole = splice_data(sealed, data)
    assert whole == sealed.replace("<estates-data-slot>", data)
    # The data add no script to run, so the policy sealed without them still holds.
    assert script_hashes(whole) == script_hashes(sealed)
    with pytest.raises(ValueError, match="json_for_script"):
        splice_data(sealed, '{"name":"</script>"}')
    with pytest.raises(RuntimeError, match="exactly once"):
        splice_data(whole, data)
    with pytest.raises(RuntimeError, match="exactly once"):
        splice_data(sealed + slot, data)


# --- in Chromium ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory) -> Path:
    """The bundled data built with markup and script in the tile attribution."""
    out = tmp_path_factory.mktemp("hostile") / "maps"
    args = ["--quiet", "build", "--force", "--out", str(out), "--tiles", TILES]
    result = CliRunner().invoke(main, [*args, "--tiles-attribution", ATTRIBUTION])
    reset_logging()
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if chromium_path() is None:
        pytest.fail("no Chromium: set ESTATES_CHROMIUM or put chromium on PATH")
    with launch() as b:
        yield b


def _open(browser: Any, path: Path) -> tuple[Any, Watch, list[str]]:
    """Open a page with the network blocked; tile requests get a blank PNG."""
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    watch, tiles = Watch(), []

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(("file:", "data:")):
            r.continue_()
        elif url.startswith("https://tiles.invalid/"):
            tiles.append(url)
            r.fulfill(status=200, content_type="image/png", body=BLANK_PNG)
        else:
            watch.blocked.append(url)
            r.abort()

    def on_dialog(d: Any) -> None:
        watch.dialogs.append(d.message)
        d.dismiss()

    page.route("**/*", route)
    page.on("console", lambda m: watch.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watch.page_errors.append(str(e)))
    page.on("dialog", on_dialog)
    page.goto(path.resolve().as_uri())
    return page, watch, tiles


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES[1:])
def test_hostile_attribution_shows_as_text_and_runs_nothing(hostile_build, browser, name):
    page, watch, tiles = _open(browser, hostile_build / name)
    page.wait_for_function("() => window.estates && window.estates.ready === true", timeout=30_000)
    credit = page.locator(".leaflet-control-attribution")
    assert "<img src=x onerror=alert(1)>" in credit.inner_text()
    assert "<script>alert(2)</script>" in credit.inner_text()
    assert credit.locator("img, script, b").count() == 0
    page.hover(".leaflet-control-attribution")
    page.wait_for_timeout(200)
    page.close()
    assert tiles, "the tile layer asked for no tile"
    assert watch.dialogs == []
    assert watch.console_errors == []  # our own scripts all ran under the policy
    assert watch.page_errors == []
    assert watch.blocked == []


@pytest.mark.browser
def test_an_injected_handler_or_script_is_blocked_by_the_policy(hostile_build, browser, tmp_path):
    """Markup that got past the escaping still would not run: the policy stops it."""
    html = (hostile_build / "london.html").read_text(encoding="utf-8")
    injected = (
        '<img src="data:," onerror="document.title=\'handler ran\'">'
        "<script>document.title = 'script ran';</script>"
    )
    copy = tmp_path / "london.html"
    copy.write_text(html.replace("<body>", "<body>" + injected, 1), encoding="utf-8")
    page, watch, _ = _open(browser, copy)
    page.wait_for_function("() => window.estates && window.estates.ready === true", timeout=30_000)
    title = page.title()
    page.close()
    assert title not in {"handler ran", "script ran"}
    refused = [e for e in watch.console_errors if "Content Security Policy" in e]
    assert len(refused) == 2, watch.console_errors  # the handler and the script, nothing else
    assert watch.dialogs == []
    assert watch.page_errors == []


def test_script_hashes_find_the_scripts_a_lazy_pattern_finds() -> None:
    """The scripts are cut out by ``str.find``, as ``<script ...>(.*?)</script\\s*>`` cuts them."""
    pattern = re.compile(r"<script(?P<attrs>(?:\s[^>]*)?)>(?P<code>.*?)</script\s*>", re.DOTALL)
    html = (
        "<script>a()</script >"
        '<script type="application/json">{"x":"</scripts>"}</script>'
        "<script>b('</script')</script\n>"
        "<scripts>not a script</script>"
        "<script src=x.js></script><script defer>c()</SCRIPT></script>"
        "<script>never closed"
    )
    want = [
        "'sha256-" + base64.b64encode(hashlib.sha256(m["code"].encode()).digest()).decode() + "'"
        for m in pattern.finditer(html)
        if "src=" not in m["attrs"] and "type=" not in m["attrs"]
    ]
    assert script_hashes(html) == list(dict.fromkeys(want))
    assert len(want) == 3
