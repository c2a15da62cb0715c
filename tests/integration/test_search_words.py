"""Search matches words, not digits inside markup-like junk: `<script>alert(1)</script>` once
returned 7 products because it contains "1". On the demo store and the grocery store."""

from __future__ import annotations

import re

JUNK = ["<script>alert(1)</script>", '"><img src=x onerror=alert(3)>', "&lt;b&gt;4&lt;/b&gt;", "3"]


def results(client, query: str) -> tuple[int, set[str]]:
    r = client.get("/search", query_string={"q": query})
    assert r.status_code == 200, query
    html = r.get_data(as_text=True)
    heading = re.search(r"<h1>(.*?)</h1>", html, re.S).group(1)
    total = 0 if "Nothing matches" in html else int(re.match(r"([\d,]+) result", heading)[1])
    main = html.split('data-slot="search-results"')[-1]
    return total, set(re.findall(r'data-product-id="([^"]+)"', main))


def test_markup_junk_finds_nothing_and_words_inside_markup_still_search(either_store):
    store = either_store
    client = store.test_client()
    catalog = store.extensions["models"].get().catalog
    titles = {pid: catalog.get(pid).title.upper() for pid in catalog.products}
    numbered = [pid for pid, t in titles.items() if re.search(r"\b[134]\b", t)]
    assert numbered  # both stores have titles with these numbers: the old search found them
    for junk in JUNK:
        total, _ = results(client, junk)
        assert total == 0, junk
    # a real word inside markup is still a search for that word
    word = re.findall(r"[A-Z]{4,}", titles[numbered[0]])[0]
    plain, _ = results(client, word.lower())
    assert plain > 0
    assert results(client, f"<b>{word.lower()}</b>")[0] == plain
    # a number narrows the words' match: only titles with that whole number
    number = re.search(r"\b([134])\b", titles[numbered[0]])[1]
    narrowed = {pid for pid, _ in catalog.search(f"{word} {number}")}
    assert numbered[0] in narrowed
    assert all(re.search(rf"\b{number}\b", titles[pid]) for pid in narrowed)
    assert len(narrowed) <= plain
