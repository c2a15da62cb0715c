"""The studio's forms (Flask-WTF: every one carries a CSRF token). The rule form needs no YAML
knowledge: conditions and effects are fields, checkboxes and rows; rule_form.py converts."""

from __future__ import annotations

import functools

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from storefront.categories import CATEGORIES
from storefront.layouts import DEFAULTS, PAGE_TYPES
from storefront.rules.schema import (
    CHANNELS,
    DAYPARTS,
    DEVICES,
    OPERATING_SYSTEMS,
    PRICE_BANDS,
    RECENCY,
    SEASONS,
    TEMPLATES,
    WEEKDAYS,
)

MONTHS = (
    "January February March April May June July August September October November December"
).split()
CATEGORY_CHOICES = [SelectChoice(c.slug, c.name) for c in CATEGORIES]
NONE = SelectChoice("", "—")
SLOT_IDS = sorted({s.id for layout in DEFAULTS.values() for s in layout.slots})


def _pairs(values) -> list[SelectChoice]:
    return [SelectChoice(v, v) for v in values]


def _labelled(*pairs: tuple[str, str]) -> list[SelectChoice]:
    return [SelectChoice(v, label) for v, label in pairs]


class Choice(SelectField):
    """A select whose value the rule schema checks (with a better message than WTForms')."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validate_choice", False)
        super().__init__(*args, **kwargs)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def category_choices() -> list[SelectChoice]:
    """The shop's categories, every level, labelled with the levels above ("Fresh Food ›
    Dairy"): the imported catalog's taxonomy, or the demo's derived categories."""
    from storefront.model_holder import snapshot

    try:
        catalog = snapshot().catalog
    except (LookupError, RuntimeError, KeyError):  # outside a request, or no shop yet
        return CATEGORY_CHOICES
    if not catalog.categories:
        return CATEGORY_CHOICES
    return [SelectChoice(c.slug, catalog.category_label(c.slug)) for c in catalog.categories]


def band_choices() -> list[SelectChoice]:
    """The price bands labelled with this store's amounts, in its currency ("budget (under
    €7.62)"): the bands are fitted to the catalog's prices (recommender/price_bands.py)."""
    from storefront.catalog import format_money
    from storefront.model_holder import snapshot

    try:
        catalog = snapshot().catalog
    except (LookupError, RuntimeError, KeyError):  # outside a request, or no shop yet
        return _pairs(PRICE_BANDS)
    out = []
    for name, lo, hi in catalog.price_bands.ranges():
        money = functools.partial(format_money, currency=catalog.currency)
        if lo is None and hi is None:
            out.append(SelectChoice(name, name))
        elif lo is None:
            out.append(SelectChoice(name, f"{name} (under {money(hi)})"))
        elif hi is None:
            out.append(SelectChoice(name, f"{name} ({money(lo)} and up)"))
        else:
            out.append(SelectChoice(name, f"{name} ({money(lo)} to {money(hi)})"))
    return out


# what each strategy fills a slot with, in a merchandiser's words (the rule stores the name)
STRATEGY_LABELS = {
    "for_you": "Recommended for them (their taste)",
    "because_you_viewed": "Because they viewed (their recent views)",
    "recently_viewed": "Recently viewed by them",
    "buy_again": "Buy again (their past orders)",
    "owned_complements": "Goes with what they bought",
    "order_complements": "Goes with the order just placed",
    "cart_complements": "Goes with their basket",
    "similar": "Similar to this product",
    "trending_near_you": "Trending near them",
    "seasonal": "In season",
    "new_arrivals": "New arrivals",
    "category_top": "Best sellers of a category (choose it)",
    "category_listing": "The category's product listing",
    "search_results": "The search results",
}


def strategy_label(name: str) -> str:
    """A strategy in words (a strategy without words yet: its name, readable)."""
    return STRATEGY_LABELS.get(name) or name.replace("_", " ").capitalize()


def strategy_choices() -> list[SelectChoice]:
    """Every registered strategy, by its words (alphabetically); the value is its name."""
    from storefront import strategies

    named = sorted(strategies.REGISTRY, key=lambda n: strategy_label(n).lower())
    return [NONE, *(SelectChoice(n, strategy_label(n)) for n in named)]


class LoginForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


class ActionForm(FlaskForm):
    """A button that changes something (enable, delete, sign out): only its CSRF token."""


class CopyFields(Form):
    headline = StringField("Headline", validators=[Optional(), Length(max=100)])
    text = StringField("Text", validators=[Optional(), Length(max=300)])
    link = StringField("Link (a path in the shop, e.g. /c/party)", validators=[Optional()])
    link_label = StringField("Link text", validators=[Optional(), Length(max=100)])


class AddRow(Form):
    id = StringField("Slot id", validators=[Optional(), Length(max=40)])
    strategy = Choice("Strategy", choices=[])
    title = StringField("Title", validators=[Optional(), Length(max=100)])
    category = Choice("Category (for category_top)", choices=[NONE, *CATEGORY_CHOICES])
    size = IntegerField("Products", validators=[Optional(), NumberRange(1, 48)])
    template = Choice("Looks like", choices=_pairs(TEMPLATES), default="rail")
    position = IntegerField("Position", validators=[Optional(), NumberRange(1, 48)])
    copy = FormField(CopyFields, label="Hero banner copy")


class MoveRow(Form):
    slot = StringField("Slot", validators=[Optional(), Length(max=40)])
    position = IntegerField("To position", validators=[Optional(), NumberRange(1, 48)])


class LayoutRow(Form):
    slot = StringField("Slot", validators=[Optional(), Length(max=40)])


class SetRow(Form):
    slot = StringField("Slot", validators=[Optional(), Length(max=40)])
    title = StringField("New title", validators=[Optional(), Length(max=100)])
    strategy = Choice("New strategy", choices=[])
    category = Choice("Category (for category_top)", choices=[NONE, *CATEGORY_CHOICES])
    size = IntegerField("Products", validators=[Optional(), NumberRange(1, 48)])
    template = Choice("Looks like", choices=[NONE, *_pairs(TEMPLATES)])
    copy = FormField(CopyFields, label="Hero banner copy")


class PinRow(Form):
    product = StringField("Product code", validators=[Optional(), Length(max=32)])
    position = IntegerField("Position", validators=[Optional(), NumberRange(1, 48)])
    slot = StringField("In slot (empty: the page's first)", validators=[Optional(), Length(max=40)])


class LiftRow(Form):
    direction = Choice("", choices=_labelled(("boost", "Boost"), ("bury", "Bury")))
    attribute = Choice(
        "Products whose",
        choices=_labelled(
            ("category", "category is"),
            ("price_band", "price band is"),
            ("tag", "title has the word"),
            ("new_days", "first sale is within days of the newest"),
        ),
    )
    category = Choice("Category", choices=[NONE, *CATEGORY_CHOICES])  # the taxonomy's paths
    band = Choice("Price band", choices=[NONE, *_pairs(PRICE_BANDS)])
    value = StringField("Word or days", validators=[Optional(), Length(max=40)])
    weight = IntegerField("Weight", default=1, validators=[Optional(), NumberRange(1, 10)])


class RuleForm(FlaskForm):
    stamp = HiddenField()  # the rule's last-saved time: catches edits made meanwhile
    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    description = TextAreaField("Why this rule", validators=[Optional(), Length(max=500)])
    priority = IntegerField("Priority (higher wins)", default=10, validators=[NumberRange(0, 1000)])
    enabled = BooleanField("Enabled", default=True)
    schedule_start = DateTimeLocalField("Live from", validators=[Optional()])
    schedule_end = DateTimeLocalField("Live until", validators=[Optional()])
    # conditions: all the filled ones must hold
    page = MultiCheckboxField("Page", choices=_pairs(PAGE_TYPES))
    device = MultiCheckboxField("Device", choices=_pairs(DEVICES[:4]))
    os = MultiCheckboxField("Operating system", choices=_pairs(OPERATING_SYSTEMS[:-1]))
    country = StringField("Countries (codes, comma-separated)", validators=[Optional()])
    not_country = StringField("Except countries", validators=[Optional()])
    region = StringField("Regions", validators=[Optional()])
    daypart = MultiCheckboxField("Part of day", choices=_pairs(DAYPARTS))
    weekday = MultiCheckboxField("Weekday", choices=_pairs(WEEKDAYS))
    weekend = Choice(
        "Weekend",
        choices=_labelled(("", "any day"), ("yes", "weekends only"), ("no", "weekdays only")),
    )
    dates_from = DateField("Dates from", validators=[Optional()])
    dates_to = DateField("Dates to", validators=[Optional()])
    month = MultiCheckboxField(
        "Month", choices=[SelectChoice(str(i), m) for i, m in enumerate(MONTHS, 1)]
    )
    season = MultiCheckboxField("Season", choices=_pairs(SEASONS))
    holiday = Choice(
        "Public holiday",
        choices=_labelled(
            ("", "any day"), ("yes", "on a public holiday"), ("no", "not on a holiday")
        ),
    )
    holiday_names = StringField("On these holidays (names)", validators=[Optional()])
    upcoming_holiday = StringField("Before these holidays (names)", validators=[Optional()])
    channel = MultiCheckboxField("Arrived from", choices=_pairs(CHANNELS))
    utm_source = StringField("utm_source", validators=[Optional()])
    utm_campaign = StringField("utm_campaign", validators=[Optional()])
    referrer = StringField("Referrer contains", validators=[Optional()])
    recency = MultiCheckboxField("Visitor", choices=_pairs(RECENCY))
    viewed_category = MultiCheckboxField("Viewed a product in", choices=CATEGORY_CHOICES)
    viewed_product = StringField("Viewed products (codes)", validators=[Optional()])
    cart_value_min = DecimalField("Basket value from", validators=[Optional()], places=2)
    cart_value_max = DecimalField("Basket value to", validators=[Optional()], places=2)
    cart_items_min = IntegerField("Items in basket from", validators=[Optional()])
    cart_items_max = IntegerField("Items in basket to", validators=[Optional()])
    affinity = MultiCheckboxField("Favourite category (inferred)", choices=CATEGORY_CHOICES)
    price_band = MultiCheckboxField("Usual price band (inferred)", choices=_pairs(PRICE_BANDS))
    segment = StringField("Customer segments (ids, see Segments)", validators=[Optional()])
    category = MultiCheckboxField("On the category page of", choices=CATEGORY_CHOICES)
    product = StringField("On the product page of (codes)", validators=[Optional()])
    # effects
    # the page's slots, exactly these, in this order: one slot picker a row
    layout = FieldList(FormField(LayoutRow), min_entries=1)
    add = FieldList(FormField(AddRow), min_entries=1)
    # any id: a reopened rule keeps one no page has any more; the rule schema names it
    remove = MultiCheckboxField("Remove slots", choices=_pairs(SLOT_IDS), validate_choice=False)
    move = FieldList(FormField(MoveRow), min_entries=1)
    set = FieldList(FormField(SetRow), min_entries=1)
    pin = FieldList(FormField(PinRow), min_entries=1)
    lift = FieldList(FormField(LiftRow), min_entries=1)
    hide_products = StringField("Hide products (codes)", validators=[Optional()])
    hide_categories = MultiCheckboxField("Hide categories", choices=CATEGORY_CHOICES)

    def fill_choices(self) -> None:
        choices = strategy_choices()
        cats = category_choices()
        for row in self.add:
            row.form.strategy.choices = choices
            row.form.category.choices = [NONE, *cats]
        for row in self.set:
            row.form.strategy.choices = choices
            row.form.category.choices = [NONE, *cats]
        bands = band_choices()
        for row in self.lift:
            row.form.category.choices = [NONE, *cats]
            row.form.band.choices = [NONE, *bands]
        for name in ("viewed_category", "affinity", "category", "hide_categories"):
            getattr(self, name).choices = cats
        self.price_band.choices = bands


class YamlForm(FlaskForm):
    yaml = TextAreaField("Rules as YAML")  # size, depth and aliases: rules/yamlsafe.py


class PublishForm(FlaskForm):
    note = StringField("What changed (for the history)", validators=[Optional(), Length(max=300)])


class PreviewForm(FlaskForm):
    """Who to preview as. GET, so a preview is a link that can be shared (no CSRF: it
    changes nothing)."""

    class Meta:
        csrf = False

    page = Choice("Page", choices=_labelled(*((p, p) for p in PAGE_TYPES)), default="home")
    category = Choice("Category (category page)", choices=[NONE, *CATEGORY_CHOICES])
    product = StringField("Product code (product page)", validators=[Optional(), Length(max=32)])
    query = StringField("Search words (search page)", validators=[Optional(), Length(max=100)])
    customer = StringField(
        "Customer number (empty: anonymous)", validators=[Optional(), Length(max=32)]
    )
    recency = Choice("Visitor", choices=_pairs(RECENCY), default="new")
    country = StringField("Country code", validators=[Optional(), Length(max=2)])
    device = Choice("Device", choices=_pairs(DEVICES[:3]), default="desktop")
    os = Choice(
        "Operating system",
        choices=[SelectChoice("", "usual for the device"), *_pairs(OPERATING_SYSTEMS)],
        default="",
    )
    when = DateTimeLocalField("Their local date and time (empty: now)", validators=[Optional()])
    views = StringField("Viewed products (codes, newest first)", validators=[Optional()])
    cart = StringField("Basket (codes, e.g. 85123A x2)", validators=[Optional()])
    utm_source = StringField("utm_source", validators=[Optional(), Length(max=64)])
    utm_medium = StringField("utm_medium", validators=[Optional(), Length(max=64)])
    utm_campaign = StringField("utm_campaign", validators=[Optional(), Length(max=64)])
    referrer = StringField("Came from (URL)", validators=[Optional(), Length(max=300)])


class ArmRow(Form):
    name = StringField("Arm", validators=[Optional(), Length(max=30)])
    share = DecimalField("Share (%)", validators=[Optional(), NumberRange(0, 100)], places=1)
    value = StringField("Serves", validators=[Optional(), Length(max=64)])


METRIC_LABELS = (
    ("ctr", "click-through rate"),
    ("add_to_cart_rate", "add-to-cart rate"),
    ("conversion", "conversion"),
    ("revenue_per_visitor", "revenue per visitor"),
)


class ExperimentForm(FlaskForm):
    """A new experiment. The first arm is the control; targeting takes the quick fields and,
    for anything else, a rule's `when` as YAML (all of them must hold)."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    id = StringField("Id (empty: made from the name)", validators=[Optional(), Length(max=40)])
    kind = Choice(
        "It compares",
        choices=_labelled(
            ("strategy", "strategies for one slot"),
            ("model", "model versions"),
            ("rules", "published rule versions"),
        ),
        default="strategy",
    )
    page = Choice("On the page", choices=_pairs(PAGE_TYPES), default="home")
    # the page's slot, picked by its title (pickers.slot_groups); the experiment stores its id
    slot = StringField("Slot (strategy experiments)", validators=[Optional(), Length(max=40)])
    metric = Choice("Primary metric", choices=_labelled(*METRIC_LABELS), default="ctr")
    arms = FieldList(FormField(ArmRow), min_entries=5, max_entries=5)
    device = MultiCheckboxField("Only on", choices=_pairs(DEVICES[:3]))
    country = StringField("Only from countries (codes, comma-separated)")
    channel = MultiCheckboxField("Only visitors who arrived from", choices=_pairs(CHANNELS))
    recency = MultiCheckboxField("Only", choices=_pairs(RECENCY))
    segment = StringField("Only customers in segments (ids, see Segments)")
    conditions = TextAreaField(
        "More conditions (YAML, like a rule's when:)",
        validators=[Optional(), Length(max=20_000)],
    )
