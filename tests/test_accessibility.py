"""axe-core in headless Chromium on the portal's main pages: no serious or
critical violation of WCAG rules (landmarks, labels, contrast, focus order).

The portal is the demo's, crawled once for the module (see
test_browser_portal.py); a screenshot of each page is saved.
"""

from __future__ import annotations

import pytest
from browser import chromium_page, screenshot
from test_browser_portal import portal  # noqa: F401 (the demo portal)

# The axe-core rules run: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's
# best practices (every part of the page in a landmark, one main, one h1).
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
PAGES = {
    "home": "/",
    "region": "/regions/AT",
    "topic": "/topics/mobility-transport",
    "sources": "/sources",
    "editor-login": "/editor/login",
    "home-de": "/de/",
}


@pytest.fixture(scope="module")
def page():
    """One browser for the module's tests: starting Chromium is the slow part."""
    with chromium_page("en-GB") as page:
        yield page


def _serious(page: object) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": WCAG}}
    results = Axe().run(page, options=options)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} – "
        + "; ".join(node["target"][0] for node in violation["nodes"][:5])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def test_main_pages_have_no_serious_accessibility_violation(portal, page):  # noqa: F811
    found: dict[str, list[str]] = {}
    page.goto(portal + "/")
    story = page.locator("main a.story").first.get_attribute("href")
    for name, path in [*PAGES.items(), ("story", story)]:
        page.goto(path if path.startswith("http") else portal + path)
        screenshot(page, f"accessibility-{name}")
        violations = _serious(page)
        if violations:
            found[name] = violations

    assert found == {}


def test_the_first_tab_reaches_the_skip_link_and_shows_it(portal, page):  # noqa: F811
    page.goto(portal + "/sources")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    left = page.evaluate("document.activeElement.getBoundingClientRect().left")
    page.keyboard.press("Enter")
    target = page.evaluate("document.activeElement.id")

    assert focused == "Skip to content"
    assert left >= 0
    assert target == "content"


def test_the_check_reports_what_a_broken_page_lacks(page):
    page.set_content(
        '<html><body><img src="/plan.png"><button></button>'
        '<p style="color:#ccc;background:#fff">faint</p></body></html>'
    )
    found = " ".join(_serious(page))

    for rule in ("image-alt", "button-name", "color-contrast", "html-has-lang"):
        assert rule in found


def test_the_home_page_fits_a_phone_without_sideways_scrolling(
    portal,  # noqa: F811
    page,
):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(portal + "/")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, "accessibility-home-phone")

    assert scroll_width <= 360
