"""A layout rule as data: conditions on the request context -> effects on the page.

Pydantic models, so every rule that reaches the shop (form, YAML, database) passes the same
checks, and a refusal names the field. Conditions are a tree (all / any / not) whose leaves are
mappings of context facts; several facts in one mapping must all hold. See docs/rules.md.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from recommender.price_bands import NAMES as BAND_NAMES
from storefront.layouts import PAGE_TYPES
from storefront.signals.device import OPERATING_SYSTEMS as OPERATING_SYSTEMS  # re-exported

DEVICES = ("mobile", "tablet", "desktop", "bot", "unknown")
DAYPARTS = ("morning", "afternoon", "evening", "night")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SEASONS = ("winter", "spring", "summer", "autumn")
RECENCY = ("new", "returning", "lapsed")
CHANNELS = ("direct", "search", "social", "email", "campaign", "referral", "internal")
PRICE_BANDS = BAND_NAMES  # places in each store's own price range (recommender/price_bands.py)
TEMPLATES = ("rail", "grid", "hero")
CATEGORY_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MAX_POSITION = 48


def _listify(value: Any) -> Any:
    """A single value is a list of one: `device: mobile` means `device: [mobile]`."""
    if value is None or isinstance(value, list | tuple):
        return value
    return [value]


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _category_slug(value: Any) -> Any:
    """The form of a category slug; whether the store has it is checked against its catalog
    (validate.semantic_problems), since each store brings its own taxonomy."""
    if not isinstance(value, str) or not CATEGORY_SLUG.fullmatch(value):
        raise ValueError(f"{value!r} is not a category slug (lower-case letters, digits and -)")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Slug = Annotated[
    str,
    BeforeValidator(_lower),
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$"),
]
# a product id as the catalog has it: case is kept ("sku-1" and "SKU-1" are two products), with
# the characters `storefront import products` accepts
ProductId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_-]{1,32}$"),
]
Country = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z]{2}$")]
CategorySlug = Annotated[str, BeforeValidator(_lower), BeforeValidator(_category_slug)]
Tag = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z0-9]{2,30}$")]
ParamName = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,30}$")]
StrategyName = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]


def _many(item: Any) -> Any:
    """One value or a non-empty list of them, stored as a tuple."""
    return Annotated[tuple[item, ...], BeforeValidator(_listify), Field(min_length=1)]


def _choice(values: tuple[str, ...]) -> Any:
    return Annotated[Literal[values], BeforeValidator(_lower)]  # type: ignore[valid-type]


Position = Annotated[int, Field(ge=1, le=MAX_POSITION)]
# a path within the shop ("/c/party"), never "//host": links in copy stay on this site
ShopPath = Annotated[
    str, StringConstraints(pattern=r"^/([A-Za-z0-9_?=&.%-][A-Za-z0-9/_?=&.%-]*)?$")
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NumberRange(_Strict):
    """An inclusive range; either end may be left open."""

    min: float | None = Field(None, ge=0)
    max: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _ends(self) -> NumberRange:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        return self


class DateRange(_Strict):
    """Visitor-local calendar dates, both ends included; either end may be left open."""

    from_: date | None = Field(None, alias="from")
    to: date | None = None

    @model_validator(mode="after")
    def _ends(self) -> DateRange:
        if self.from_ is None and self.to is None:
            raise ValueError("give from, to or both")
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise ValueError(f"from ({self.from_}) is after to ({self.to})")
        return self


class Condition(_Strict):
    """A node of the condition tree. Facts in one node must all hold; `all`, `any` and `not`
    combine nodes. An empty condition always holds."""

    all_: tuple[Condition, ...] | None = Field(None, alias="all", min_length=1)
    any_: tuple[Condition, ...] | None = Field(None, alias="any", min_length=1)
    not_: Condition | None = Field(None, alias="not")
    # the request
    page: _many(_choice(PAGE_TYPES)) | None = None
    category: _many(CategorySlug) | None = None  # the category page being looked at
    product: _many(ProductId) | None = None  # the product page being looked at
    device: _many(_choice(DEVICES)) | None = None
    os: _many(_choice(OPERATING_SYSTEMS)) | None = None  # client hints, else the User-Agent
    country: _many(Country) | None = None
    region: _many(Text) | None = None
    # the visitor's local time
    daypart: _many(_choice(DAYPARTS)) | None = None
    weekday: _many(_choice(WEEKDAYS)) | None = None
    weekend: bool | None = None
    dates: DateRange | None = None
    month: _many(Annotated[int, Field(ge=1, le=12)]) | None = None
    season: _many(_choice(SEASONS)) | None = None
    holiday: bool | _many(Text) | None = None  # true: any public holiday today
    upcoming_holiday: bool | _many(Text) | None = None
    # how they came
    channel: _many(_choice(CHANNELS)) | None = None
    utm_source: _many(Annotated[Text, BeforeValidator(_lower)]) | None = None
    utm_campaign: _many(Text) | None = None
    referrer: _many(Annotated[Text, BeforeValidator(_lower)]) | None = None  # host contains
    # who they are and what they did
    recency: _many(_choice(RECENCY)) | None = None
    viewed_category: _many(CategorySlug) | None = None
    viewed_product: _many(ProductId) | None = None
    cart_value: NumberRange | None = None  # in the store's currency
    cart_items: NumberRange | None = None
    affinity: _many(CategorySlug) | None = None  # an inferred favourite category
    price_band: _many(_choice(PRICE_BANDS)) | None = None  # the inferred usual price band
    # a micro-segment id from the studio's Segments page (they are found anew with each model
    # version; an id that no segment has any more simply holds for nobody)
    segment: _many(Annotated[Text, BeforeValidator(_lower)]) | None = None

    def facts(self) -> dict[str, Any]:
        """The leaf facts set on this node (combinators excluded), by YAML name."""
        return {
            name: getattr(self, name)
            for name in type(self).model_fields
            if name not in ("all_", "any_", "not_") and getattr(self, name) is not None
        }

    def is_empty(self) -> bool:
        return not self.facts() and not (self.all_ or self.any_ or self.not_)


class Copy(_Strict):
    """Words for a hero banner: a headline, a line of text, and a call to action."""

    headline: Text
    text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    link: ShopPath | None = None
    link_label: Text | None = None


Param = str | int | float | bool


class SlotSpec(_Strict):
    """A slot a rule adds: an id, a strategy, a title; optionally size, template and place."""

    id: Slug
    strategy: StrategyName
    title: Text
    size: int | None = Field(None, ge=1, le=MAX_POSITION)
    template: _choice(TEMPLATES) = "rail"
    params: dict[ParamName, Param] = {}
    copy_: Copy | None = Field(None, alias="copy")
    position: Position | None = None  # 1 = first on the page; none: last


class SlotMove(_Strict):
    slot: Slug
    position: Position


class SlotSet(_Strict):
    """Change an existing slot's settings; unset fields keep theirs."""

    slot: Slug
    strategy: StrategyName | None = None
    title: Text | None = None
    size: int | None = Field(None, ge=1, le=MAX_POSITION)
    template: _choice(TEMPLATES) | None = None
    params: dict[ParamName, Param] | None = None
    copy_: Copy | None = Field(None, alias="copy")

    @model_validator(mode="after")
    def _something(self) -> SlotSet:
        if not self.changes():
            raise ValueError("set at least one of strategy, title, size, template, params, copy")
        return self

    def changes(self) -> dict[str, Any]:
        out = {}
        for name in ("strategy", "title", "size", "template", "params", "copy_"):
            value = getattr(self, name)
            if value is not None:
                out["copy" if name == "copy_" else name] = value
        return out


class Pin(_Strict):
    """Put a product at a position of a slot (the page's first slot when none is named)."""

    product: ProductId
    position: Position = 1
    slot: Slug | None = None


class Lift(_Strict):
    """Products sharing one attribute: a category, a price band, a tag (a word of the title),
    or newness (first sold within `new_days` of the newest product)."""

    category: CategorySlug | None = None
    price_band: _choice(PRICE_BANDS) | None = None
    tag: Tag | None = None
    new_days: int | None = Field(None, ge=1, le=3650)
    weight: int = Field(1, ge=1, le=10)

    @model_validator(mode="after")
    def _one(self) -> Lift:
        given = [n for n in ("category", "price_band", "tag", "new_days") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError("give exactly one of category, price_band, tag, new_days")
        return self

    @property
    def attribute(self) -> tuple[str, str]:
        """(attribute, value): what two lifts must share to contradict each other."""
        for name in ("category", "price_band", "tag", "new_days"):
            value = getattr(self, name)
            if value is not None:
                return name, str(value)
        raise AssertionError("validated: one attribute is set")


class Hide(_Strict):
    products: _many(ProductId) = ()
    categories: _many(CategorySlug) = ()


class Effects(_Strict):
    """What a matching rule does to the page. Each list is applied in the order written."""

    layout: tuple[Slug, ...] | None = Field(None, min_length=1)  # the page's slots, in order
    add: tuple[SlotSpec, ...] = ()
    remove: _many(Slug) = ()
    move: tuple[SlotMove, ...] = ()
    set: tuple[SlotSet, ...] = ()
    pin: tuple[Pin, ...] = ()
    boost: tuple[Lift, ...] = ()
    bury: tuple[Lift, ...] = ()
    hide: Hide | None = None

    @model_validator(mode="after")
    def _something(self) -> Effects:
        if not any(
            (
                self.layout,
                self.add,
                self.remove,
                self.move,
                self.set,
                self.pin,
                self.boost,
                self.bury,
                self.hide and (self.hide.products or self.hide.categories),
            )
        ):
            raise ValueError(
                "a rule needs at least one effect: layout, add, remove, move, set, pin, "
                "boost, bury or hide"
            )
        return self


class Schedule(_Strict):
    """When the rule is live, in the store's time zone; either end may be open."""

    start: datetime | None = None
    end: datetime | None = None

    @field_validator("start", "end")
    @classmethod
    def _naive(cls, value: datetime | None) -> datetime | None:
        # a wall-clock time in the store's zone: an offset would make two clocks disagree
        if value is not None and value.tzinfo is not None:
            raise ValueError(
                "write the store's local time without an offset, e.g. 2024-12-01T09:00"
            )
        return value

    @model_validator(mode="after")
    def _order(self) -> Schedule:
        if self.start and self.end and self.start >= self.end:
            raise ValueError(f"start ({self.start}) is not before end ({self.end})")
        return self


class Rule(_Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    priority: int = Field(10, ge=0, le=1000)
    enabled: bool = True
    schedule: Schedule | None = None
    when: Condition = Condition()
    then: Effects


class RuleSet(_Strict):
    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        seen: set[str] = set()
        for rule in self.rules:
            folded = rule.name.casefold()
            if folded in seen:
                raise ValueError(f"two rules are named {rule.name!r}; names must be unique")
            seen.add(folded)
        return self

    def get(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    def replace_rule(self, old_name: str | None, rule: Rule | None) -> RuleSet:
        """A new set with `old_name` replaced by `rule` (added when old_name is None, removed
        when rule is None), validated again."""
        rules = [r for r in self.rules if r.name != old_name] if old_name else list(self.rules)
        if rule is not None:
            at = next((i for i, r in enumerate(self.rules) if r.name == old_name), len(rules))
            rules.insert(min(at, len(rules)), rule)
        return RuleSet.model_validate({"rules": [to_data(r) for r in rules]})


def precedence(rule: Rule) -> tuple[int, str]:
    """Sort key: the rule that wins sorts first (higher priority, then name A to Z)."""
    return (-rule.priority, rule.name.casefold())


def _compact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_compact(v) for v in value]
    return value


def _scalars(cond: dict[str, Any]) -> dict[str, Any]:
    """Write one-element fact lists as a plain value (`device: mobile`), recursively."""
    out: dict[str, Any] = {}
    combinators = [k for k in ("all", "any", "not") if k in cond]
    for k, v in [
        *((k, v) for k, v in cond.items() if k not in combinators),
        *((k, cond[k]) for k in combinators),
    ]:
        if k in ("all", "any"):
            out[k] = [_scalars(c) for c in v]
        elif k == "not":
            out[k] = _scalars(v)
        elif isinstance(v, list) and len(v) == 1 and not isinstance(v[0], dict):
            out[k] = v[0]
        else:
            out[k] = v
    return out


def to_data(rule: Rule) -> dict[str, Any]:
    """The plain-data form of a rule (JSON/YAML): defaults and empty fields left out."""
    data = rule.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    data = _compact(data)
    data.setdefault("name", rule.name)
    if "when" in data:
        data["when"] = _scalars(data["when"])
        if not data["when"]:
            del data["when"]
    ordered = {k: data[k] for k in ("name", "description", "priority", "enabled") if k in data}
    ordered.setdefault("priority", rule.priority)
    ordered.update({k: v for k, v in data.items() if k not in ordered})
    return ordered


def ruleset_data(ruleset: RuleSet) -> dict[str, Any]:
    return {"rules": [to_data(r) for r in ruleset.rules]}
