"""Between the rule form and a rule: form fields -> plain rule data (validated by the schema),
and a rule -> form data. Conditions the form cannot show (any, nested all/not) are kept as
they are and edited in YAML; the form says so instead of dropping them."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from storefront.admin import pickers
from storefront.admin.forms import RuleForm
from storefront.rules.schema import Condition, Rule, to_data
from storefront.rules.validate import Problem, resolver, schema_problems

LIST_FIELDS = (
    "page",
    "device",
    "os",
    "daypart",
    "weekday",
    "season",
    "channel",
    "recency",
    "viewed_category",
    "affinity",
    "price_band",
    "category",
)
TEXT_LIST_FIELDS = ("country", "region", "utm_source", "utm_campaign", "referrer", "segment")
CODE_LIST_FIELDS = ("viewed_product", "product")
EXTRA_ROWS = 2  # blank rows under the filled ones, so no script is needed to add one


def split(text: str | None) -> list[str]:
    return [p.strip() for p in re.split(r"[,\n]", text or "") if p.strip()]


def codes(text: str | None) -> list[str]:
    return [p for part in split(text) for p in part.split()]


def _cleaned(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def form_to_data(form: RuleForm) -> dict[str, Any]:
    """Plain rule data from the form; empty fields and rows mean "not set"."""
    f = form
    when: dict[str, Any] = {}
    for name in LIST_FIELDS:
        if getattr(f, name).data:
            when[name] = list(getattr(f, name).data)
    for name in TEXT_LIST_FIELDS:
        if split(getattr(f, name).data):
            when[name] = split(getattr(f, name).data)
    for name in CODE_LIST_FIELDS:
        if codes(getattr(f, name).data):
            when[name] = codes(getattr(f, name).data)
    if f.month.data:
        when["month"] = [int(m) for m in f.month.data]
    if f.weekend.data:
        when["weekend"] = f.weekend.data == "yes"
    if f.dates_from.data or f.dates_to.data:
        when["dates"] = {
            k: v.isoformat() for k, v in (("from", f.dates_from.data), ("to", f.dates_to.data)) if v
        }
    if split(f.holiday_names.data):
        when["holiday"] = split(f.holiday_names.data)
    elif f.holiday.data:
        when["holiday"] = f.holiday.data == "yes"
    if split(f.upcoming_holiday.data):
        when["upcoming_holiday"] = split(f.upcoming_holiday.data)
    for name in ("cart_value", "cart_items"):
        lo, hi = getattr(f, f"{name}_min").data, getattr(f, f"{name}_max").data
        if lo is not None or hi is not None:
            when[name] = {k: float(v) for k, v in (("min", lo), ("max", hi)) if v is not None}
    if split(f.not_country.data):
        when["not"] = {"country": split(f.not_country.data)}
    then: dict[str, Any] = {}
    layout = [r.form.slot.data.strip() for r in f.layout if (r.form.slot.data or "").strip()]
    if layout:
        then["layout"] = layout
    adds = [_add_row(r.form) for r in f.add if (r.form.id.data or "").strip()]
    if adds:
        then["add"] = adds
    if f.remove.data:
        then["remove"] = list(dict.fromkeys(s.strip() for s in f.remove.data if s.strip()))
    moves = [
        {"slot": r.form.slot.data.strip(), "position": r.form.position.data}
        for r in f.move
        if (r.form.slot.data or "").strip()
    ]
    if moves:
        then["move"] = moves
    sets = [_set_row(r.form) for r in f.set if (r.form.slot.data or "").strip()]
    if sets:
        then["set"] = sets
    pins = []
    for r in f.pin:
        if (r.form.product.data or "").strip():
            pin: dict[str, Any] = {"product": r.form.product.data.strip()}
            if r.form.position.data:
                pin["position"] = r.form.position.data
            if (r.form.slot.data or "").strip():
                pin["slot"] = r.form.slot.data.strip()
            pins.append(pin)
    if pins:
        then["pin"] = pins
    for r in f.lift:
        attr = r.form.attribute.data
        value = _lift_value(r.form, attr)
        if not value:
            continue
        lift: dict[str, Any] = {
            attr: int(value) if attr == "new_days" and re.fullmatch(r"[0-9]{1,6}", value) else value
        }
        if r.form.weight.data and r.form.weight.data != 1:
            lift["weight"] = r.form.weight.data
        then.setdefault(r.form.direction.data, []).append(lift)
    hide: dict[str, Any] = {}
    if codes(f.hide_products.data):
        hide["products"] = codes(f.hide_products.data)
    if f.hide_categories.data:
        hide["categories"] = list(f.hide_categories.data)
    if hide:
        then["hide"] = hide
    data: dict[str, Any] = {
        "name": (f.name.data or "").strip(),
        "priority": f.priority.data if f.priority.data is not None else 10,
        "enabled": bool(f.enabled.data),
        "then": then,
    }
    if (f.description.data or "").strip():
        data["description"] = f.description.data.strip()
    if f.schedule_start.data or f.schedule_end.data:
        data["schedule"] = {
            k: v.isoformat(timespec="minutes")
            for k, v in (("start", f.schedule_start.data), ("end", f.schedule_end.data))
            if v
        }
    if when:
        data["when"] = when
    return data


def _lift_value(row, attr: str) -> str:
    """A lift's value: the picked category or price band for those attributes (a value
    typed instead still counts), the typed word or days otherwise."""
    typed = (row.value.data or "").strip()
    picked = {"category": row.category.data, "price_band": row.band.data}.get(attr)
    return (picked or "").strip() or typed


def rule_from_form(form: RuleForm) -> tuple[Rule | None, list[Problem]]:
    """The form's rule, or the schema's problems naming each field."""
    data = form_to_data(form)
    try:
        return Rule.model_validate(data), []
    except ValidationError as exc:
        name = data.get("name") or "new rule"
        resolve = resolver({"rules": [data]})
        return None, schema_problems(exc, ("rules", 0), name, lambda _p: None, resolve)


def _copy(form) -> dict[str, str] | None:
    copy = {
        k: _cleaned(getattr(form.copy.form, k).data)
        for k in ("headline", "text", "link", "link_label")
        if _cleaned(getattr(form.copy.form, k).data)
    }
    return copy or None


def _add_row(r) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": r.id.data.strip(),
        "strategy": r.strategy.data or "",
        "title": (r.title.data or "").strip(),
    }
    if r.category.data:
        row["params"] = {"category": r.category.data}
    if r.size.data:
        row["size"] = r.size.data
    if r.template.data and r.template.data != "rail":
        row["template"] = r.template.data
    if r.position.data:
        row["position"] = r.position.data
    if _copy(r):
        row["copy"] = _copy(r)
    return row


def _set_row(r) -> dict[str, Any]:
    row: dict[str, Any] = {"slot": r.slot.data.strip()}
    for name in ("title", "strategy", "template"):
        value = _cleaned(getattr(r, name).data)
        if value:
            row[name] = value
    if r.size.data:
        row["size"] = r.size.data
    if r.category.data:
        row["params"] = {"category": r.category.data}
    if _copy(r):
        row["copy"] = _copy(r)
    return row


def form_shows(cond: Condition) -> bool:
    """Can the form show this condition faithfully? (Facts, plus `not` of countries.)"""
    if cond.any_ or cond.all_:
        return False
    if cond.not_ is None:
        return True
    n = cond.not_
    return not (n.any_ or n.all_ or n.not_) and set(n.facts()) == {"country"}


def rule_to_formdata(rule: Rule) -> dict[str, Any]:
    """Form data for a rule (the inverse of form_to_data for what the form can show)."""
    data = to_data(rule)
    when = rule.when
    out: dict[str, Any] = {
        "name": rule.name,
        "description": rule.description,
        "priority": rule.priority,
        "enabled": rule.enabled,
        "schedule_start": rule.schedule.start if rule.schedule else None,
        "schedule_end": rule.schedule.end if rule.schedule else None,
    }
    for name in LIST_FIELDS:
        value = getattr(when, name)
        out[name] = [str(v) for v in value] if value else []
    for name in (*TEXT_LIST_FIELDS, *CODE_LIST_FIELDS):
        value = getattr(when, name)
        out[name] = ", ".join(value) if value else ""
    out["month"] = [str(m) for m in when.month or ()]
    out["weekend"] = "" if when.weekend is None else ("yes" if when.weekend else "no")
    if when.dates:
        out["dates_from"], out["dates_to"] = when.dates.from_, when.dates.to
    if isinstance(when.holiday, tuple):
        out["holiday_names"] = ", ".join(when.holiday)
    elif when.holiday is not None:
        out["holiday"] = "yes" if when.holiday else "no"
    if isinstance(when.upcoming_holiday, tuple):
        out["upcoming_holiday"] = ", ".join(when.upcoming_holiday)
    for name in ("cart_value", "cart_items"):
        r = getattr(when, name)
        if r is not None:
            out[f"{name}_min"], out[f"{name}_max"] = r.min, r.max
    if when.not_ is not None and form_shows(when):
        out["not_country"] = ", ".join(when.not_.country or ())
    then = data["then"]
    out["layout"] = [{"slot": s} for s in then.get("layout", [])]
    out["remove"] = list(rule.then.remove)
    out["add"] = [
        {
            **{k: a.get(k) for k in ("id", "strategy", "title", "size", "position")},
            "template": a.get("template", "rail"),
            "category": a.get("params", {}).get("category", ""),
            "copy": a.get("copy", {}),
        }
        for a in then.get("add", [])
    ]
    out["move"] = then.get("move", [])
    out["set"] = [
        {
            **{k: s.get(k) for k in ("slot", "title", "strategy", "size", "template")},
            "category": s.get("params", {}).get("category", ""),
            "copy": s.get("copy", {}),
        }
        for s in then.get("set", [])
    ]
    out["pin"] = [
        {"product": p.product, "position": p.position, "slot": p.slot or ""} for p in rule.then.pin
    ]
    lifts = []
    for direction in ("boost", "bury"):
        for lift in getattr(rule.then, direction):
            attr, value = lift.attribute
            row = {"direction": direction, "attribute": attr, "weight": lift.weight}
            field = {"category": "category", "price_band": "band"}.get(attr, "value")
            lifts.append({**row, field: value})
    out["lift"] = lifts
    if rule.then.hide is not None:
        out["hide_products"] = ", ".join(rule.then.hide.products)
        out["hide_categories"] = list(rule.then.hide.categories)
    return out


def make_form(rule: Rule | None = None, formdata=None, stamp: str = "") -> RuleForm:
    """The rule form, filled from the request (formdata) or from a rule, with blank rows."""
    if formdata is not None:
        form = RuleForm(formdata=formdata)
    else:
        data = rule_to_formdata(rule) if rule else {"priority": 10, "enabled": True}
        data["stamp"] = stamp
        form = RuleForm(data=data)
    for name in ("layout", "add", "move", "set", "pin", "lift"):
        field = getattr(form, name)
        filled = sum(1 for entry in field if any(_row_has_data(entry.form)))
        while len(field) < filled + EXTRA_ROWS:
            field.append_entry()
    form.fill_choices()
    return form


def picker_data(form: RuleForm, other_rules: list[Rule]) -> dict[str, Any]:
    """What the template needs beside the form's fields: the slot choices of each layout, pin,
    move and change row, the slots to tick for removal, and the title of every product code the
    form holds (read from the catalog the shop serves)."""
    this_rule = [(r.form.id.data or "", r.form.title.data or "") for r in form.add]
    others = [(spec.id, spec.title) for rule in other_rules for spec in rule.then.add]
    pages = list(form.page.data or ())

    def slots(rows) -> list[list[pickers.SlotGroup]]:
        return [pickers.slot_groups(r.form.slot.data, pages, this_rule, others) for r in rows]

    field_codes = {r.form.product.id: codes(r.form.product.data) for r in form.pin}
    for name in ("hide_products", *CODE_LIST_FIELDS):
        field_codes[getattr(form, name).id] = codes(getattr(form, name).data)
    every = [c for found in field_codes.values() for c in found]
    return {
        "layout_slots": slots(form.layout),
        "remove_slots": pickers.slot_checks(form.remove.data, pages, others),
        "pin_slots": slots(form.pin),
        "move_slots": slots(form.move),
        "set_slots": slots(form.set),
        "field_codes": field_codes,
        "known": pickers.known_products(every),
    }


def _row_has_data(form) -> list[bool]:
    return [bool(_cleaned(f.data)) for f in form if f.type not in ("SelectField", "FormField")]
