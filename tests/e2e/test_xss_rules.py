"""XSS payloads in what merchandisers write (rule names, slot titles, hero banner copy) reach
shoppers and the studio as text; a real browser runs none of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.studio_pages import Studio

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent.parent
PAYLOAD = "<script>window.__xss=1</script><img src=x onerror=window.__xss=1>"
RULES = f"""
rules:
  - name: 'Iceland {PAYLOAD}'
    priority: 5
    when: {{country: IS, page: home}}
    then:
      add:
        - id: hero
          strategy: new_arrivals
          title: 'Hot {PAYLOAD}'
          template: hero
          copy: {{headline: 'Big {PAYLOAD}', text: 'Text {PAYLOAD}', link: /c/christmas,
                 link_label: 'Go {PAYLOAD}'}}
          position: 1
"""


def storefront(home: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "storefront.cli", *args],
        cwd=ROOT,
        env={"STOREFRONT_HOME": str(home), "PATH": "/usr/bin:/bin"},
        input=stdin,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def hostile_rule(shop_home, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    storefront(shop_home, "rules", "import", str(path))
    storefront(shop_home, "rules", "publish")
    yield
    empty = tmp_path / "empty.yaml"
    empty.write_text("rules: []\n")
    storefront(shop_home, "rules", "import", str(empty))
    storefront(shop_home, "rules", "publish")


def test_merchandiser_text_is_shown_not_run(shop_server, shop_home, hostile_rule, new_page):
    page = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for _ in range(30):  # workers pick up a publish within a second or two
        page.goto(shop_server + "/?qa_country=IS")
        if page.locator('[data-slot="hero"]').count():
            break
        page.wait_for_timeout(200)
    hero = page.locator('[data-slot="hero"]')
    assert hero.count() == 1
    assert page.evaluate("window.__xss") is None
    assert "<script>window.__xss=1</script>" in hero.inner_text()
    storefront(
        shop_home,
        "users",
        "create",
        "--role",
        "viewer",
        "--password-stdin",
        "xssviewer",
        stdin="a long enough password\n",
    )
    Studio(page, shop_server).sign_in("xssviewer", "a long enough password")
    for path in ("/admin/", "/admin/versions", "/admin/audit"):
        page.goto(shop_server + path)
        assert page.evaluate("window.__xss") is None, path
    assert dialogs == []
