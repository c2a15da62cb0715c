"""What the rule form's pickers ask for as the merchandiser types: products by words of their
name (or the start of their code), from the catalog the shop serves. Categories need no
endpoint: the form's selects list the store's taxonomy by path ("Fresh Food › Dairy"). The slot of
a pin, a move, a change and of each row of "only these slots" is a select of the store's slots by
their titles, grouped by page type, the pages the rule is for first (admin.js hides the other
pages' groups as the page boxes are ticked); "remove slots" ticks the same slots, each once; an
experiment's slot is the same select, and the rules list, the experiments pages and impact name
slots by the same titles. A slot id no page has any more stays, saying so; a reopened rule and
the rules list show each product code with its title (or say it is no longer in the catalog)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, jsonify, request

from storefront.admin import auth, bp
from storefront.layouts import DEFAULTS, PAGE_TYPES
from storefront.model_holder import snapshot
from storefront.rules.schema import Rule

MAX_QUERY = 100
MAX_RESULTS = 20


@bp.get("/products/search")
@auth.requires("viewer")
def product_search():
    """JSON {query, products: [{id, title, category, category_label, price}]}, best first: an
    exact code first, then titles matching every word (the last may be a prefix)."""
    query = (request.args.get("q") or "").strip()
    if len(query) > MAX_QUERY:
        abort(400, description=f"q: at most {MAX_QUERY} characters")
    raw = request.args.get("limit", "")
    if raw and not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_RESULTS):
        abort(400, description=f"limit: a whole number from 1 to {MAX_RESULTS}")
    limit = int(raw) if raw else 10
    catalog = snapshot().catalog
    ids: list[str] = []
    for code in (query, query.upper()):
        if code and catalog.get(code) is not None and code not in ids:
            ids.append(code)
    if query:
        ids += [pid for pid, _ in catalog.search(query, limit + len(ids)) if pid not in ids]
    products = []
    for pid in ids[:limit]:
        p = catalog.get(pid)
        if p is None:
            continue
        products.append(
            {
                "id": p.id,
                "title": p.display_title,
                "category": p.category,
                "category_label": catalog.category_label(p.category) or p.category,
                "price": p.price_text,
            }
        )
    return jsonify({"query": query, "products": products})


# ---- slots (pins, moves, changes, layouts, removals): the store's slots by title, by page type --

PAGE_LABELS = {
    "home": "Home page",
    "category": "Category pages",
    "product": "Product pages",
    "search": "Search results",
    "cart": "Basket",
}


@dataclass(frozen=True)
class SlotOption:
    value: str  # the slot id, what the rule stores
    label: str  # what the merchandiser reads: the slot's title
    selected: bool = False


@dataclass(frozen=True)
class SlotGroup:
    label: str
    options: tuple[SlotOption, ...]
    this_rule: bool = False  # the slots this rule adds (admin.js refreshes them as they are typed)
    page: str | None = None  # the page type whose default layout these are


def slot_groups(
    value: str | None,
    pages: list[str] | None,
    this_rule: list[tuple[str, str]] | None = None,
    other_rules: list[tuple[str, str]] | None = None,
) -> list[SlotGroup]:
    """The slots a pin, a move or a change may name, by page type (the default layouts; the
    pages the rule is for first), then those this rule and the other draft rules add ((id,
    title) pairs; no "this rule" group when this_rule is None: an experiment's slot). `value`,
    the row's slot, is selected once: in the first group of a page the rule is for, else in
    its first group; a value that is no slot of the shop stays an option (saying so), so that
    reopening never drops it and saving names it."""
    value = (value or "").strip()
    groups: list[tuple[str, list[tuple[str, str]], bool, str | None]] = [
        (PAGE_LABELS[p], [(s.id, s.title) for s in DEFAULTS[p].slots], False, p)
        for p in _rule_pages_first(pages)
    ]
    if this_rule is not None:
        groups.append(("Added by this rule", _unique(this_rule), True, None))
    mine = {sid for sid, _ in this_rule or ()}
    groups.append(
        (
            "Added by other rules",
            [s for s in _unique(other_rules or []) if s[0] not in mine],
            False,
            None,
        )
    )
    found = [i for i, (_, slots, _, _) in enumerate(groups) if value in {sid for sid, _ in slots}]
    wanted = [i for i in found if groups[i][3] is None or groups[i][3] in (pages or ())]
    chosen = (wanted or found or [None])[0]
    out = [
        SlotGroup(
            label,
            tuple(
                SlotOption(sid, title or sid, i == chosen and sid == value) for sid, title in slots
            ),
            this,
            page,
        )
        for i, (label, slots, this, page) in enumerate(groups)
        if slots or this
    ]
    if value and chosen is None:
        out.append(SlotGroup(GONE_GROUP, (SlotOption(value, f"{value} ({GONE})", True),)))
    return out


GONE_GROUP = "Not a slot of this shop"
GONE = "not on any page any more"


def slot_named(sid: str, pages: list[str] | None, added: list[tuple[str, str]]) -> str:
    """A slot as a rule's summary names it: “its title” on the first of the rule's pages that
    has it (the other pages after: "for-you" is titled per page), else as a draft rule adds it
    ((id, title) pairs); a slot no page has any more is its id, saying so."""
    name, note = slot_label(sid, pages, added)
    return name if note == sid else f"{name} ({note})"


def slot_label(sid: str, pages: list[str] | None, added: list[tuple[str, str]]) -> tuple[str, str]:
    """A slot for the merchandiser, with secondary text: (“its title”, its id) as titled on the
    first of `pages` that has it, else as a draft rule adds it; (its id, "not on any page any
    more") when neither has it (the experiments list and an experiment's tables)."""
    for p in _rule_pages_first(pages):
        for s in DEFAULTS[p].slots:
            if s.id == sid:
                return f"“{s.title or sid}”", sid
    title = dict(_unique(added)).get(sid)
    return (f"“{title or sid}”", sid) if title is not None else (sid, GONE)


def added_slots(rules: list[Rule]) -> list[tuple[str, str]]:
    """The (id, title) of every slot these rules add, for naming slots no page has by default."""
    return [(spec.id, spec.title) for r in rules for spec in r.then.add]


@dataclass(frozen=True)
class SlotCheck:
    value: str  # the slot id, what the rule stores
    label: str  # the slot's title
    note: str  # the id, and the pages the slot is on
    checked: bool = False


@dataclass(frozen=True)
class CheckGroup:
    label: str
    options: tuple[SlotCheck, ...]
    page: str | None = None
    slots: tuple[str, ...] = ()  # the page's slot ids, in order (admin.js regroups by them)


def slot_checks(
    values: list[str] | None, pages: list[str] | None, other_rules: list[tuple[str, str]]
) -> list[CheckGroup]:
    """The slots a rule may remove, each once (a remove is by id, on every page the rule is
    for): in the group of the first of its pages, the pages the rule is for first, its note
    naming its id and pages; then the slots the other draft rules add. A ticked id that is
    neither (a reopened old rule) stays ticked in a group of its own, saying so."""
    ticked = list(dict.fromkeys(v.strip() for v in values or () if v.strip()))
    on: dict[str, list[str]] = {}
    for p in PAGE_TYPES:
        for s in DEFAULTS[p].slots:
            on.setdefault(s.id, []).append(p)
    out: list[CheckGroup] = []
    placed: set[str] = set()
    for p in _rule_pages_first(pages):  # every page's group, an empty one too (admin.js fills it)
        here = [s for s in DEFAULTS[p].slots if s.id not in placed]
        placed |= {s.id for s in here}
        options = tuple(
            SlotCheck(s.id, s.title or s.id, _on_pages(s.id, on[s.id]), s.id in ticked)
            for s in here
        )
        out.append(CheckGroup(PAGE_LABELS[p], options, p, tuple(s.id for s in DEFAULTS[p].slots)))
    added = [(sid, title) for sid, title in _unique(other_rules) if sid not in on]
    if added:
        options = tuple(
            SlotCheck(sid, title or sid, f"{sid} · added by another rule", sid in ticked)
            for sid, title in added
        )
        out.append(CheckGroup("Added by other rules", options))
    known = set(on) | {sid for sid, _ in added}
    gone = [v for v in ticked if v not in known]
    if gone:
        out.append(CheckGroup(GONE_GROUP, tuple(SlotCheck(v, v, GONE, True) for v in gone)))
    return out


def _on_pages(sid: str, pages: list[str]) -> str:
    return f"{sid} · on " + ", ".join(PAGE_LABELS[p] for p in pages)


def _rule_pages_first(pages: list[str] | None) -> list[str]:
    return sorted(PAGE_TYPES, key=lambda p: p not in (pages or ()))  # stable: theirs first


def _unique(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for sid, title in pairs:
        sid = (sid or "").strip()
        if sid and sid not in seen:
            seen[sid] = (title or "").strip()
    return list(seen.items())


# ---- product codes beside their titles, when a saved rule is reopened -------------------------


@dataclass(frozen=True)
class Known:
    code: str
    title: str | None  # None: not in the catalog any more
    category_label: str = ""


def known_products(codes: list[str]) -> dict[str, Known]:
    """Each code's title and category in the catalog the shop serves (None when it is gone)."""
    catalog = snapshot().catalog
    out: dict[str, Known] = {}
    for code in codes:
        if code in out:
            continue
        p = catalog.get(code)
        if p is None:
            out[code] = Known(code, None)
        else:
            label = catalog.category_label(p.category) or p.category
            out[code] = Known(code, p.display_title, label)
    return out


NOT_IN_CATALOG = "not in the catalog any more"


def product_named(known: Known) -> str:
    """A product as the rules list names it: “its title” (its code), or its code, saying it is
    not in the catalog any more."""
    if known.title is None:
        return f"{known.code} ({NOT_IN_CATALOG})"
    return f"“{known.title}” ({known.code})"
