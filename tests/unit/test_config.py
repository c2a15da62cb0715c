"""Configuration: defaults, environment, and errors that name the variable."""

from __future__ import annotations

import pytest

from storefront.config import ConfigError, load_settings


def test_defaults_and_no_secret_on_disk(tmp_path):
    s = load_settings({"STOREFRONT_HOME": str(tmp_path)})
    assert s.effective_database_url.startswith("sqlite:///")
    assert s.redis_url == "" and s.qa_overrides is False
    assert s.demo_signin is False and s.identity_secret == ""  # sign-in needs a password
    # unset: the database's, shared by every node (tests/integration/test_shared_secret.py)
    assert s.secret_key == "" and not (tmp_path / "secret_key").exists()


def test_environment_values_are_parsed(tmp_path):
    s = load_settings(
        {
            "STOREFRONT_HOME": str(tmp_path),
            "STOREFRONT_QA_OVERRIDES": "yes",
            "STOREFRONT_FRAGMENT_TTL": "30",
            "STOREFRONT_GEO_HEADERS": "X-Geo, CF-IPCountry",
            "STOREFRONT_DATABASE_URL": "postgresql+psycopg://u@h/db",
            "STOREFRONT_DEFAULT_COUNTRY": "de",
            "STOREFRONT_PAGE_CACHE_TTL": "0",  # off
        }
    )
    assert s.qa_overrides is True and s.fragment_ttl == 30 and s.page_cache_ttl == 0
    assert s.geo_headers == ("X-Geo", "CF-IPCountry")
    assert s.effective_database_url == "postgresql+psycopg://u@h/db"
    assert s.default_country == "DE"
    public = load_settings(
        {"STOREFRONT_HOME": str(tmp_path), "STOREFRONT_PUBLIC_URL": "https://shop.example/s/"}
    )
    assert public.public_url == "https://shop.example/s"  # links append their own "/"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STOREFRONT_FRAGMENT_TTL", "ten"),
        ("STOREFRONT_FRAGMENT_TTL", "0"),
        ("STOREFRONT_PAGE_CACHE_TTL", "-5"),
        ("STOREFRONT_QA_OVERRIDES", "maybe"),
        ("STOREFRONT_DATABASE_URL", "mysql://x"),
        ("STOREFRONT_REDIS_URL", "http://localhost"),
        ("STOREFRONT_CACHE_REDIS_URL", "localhost:6379"),
        ("STOREFRONT_REDIS_TIMEOUT", "0"),
        ("STOREFRONT_REDIS_TIMEOUT", "soon"),
        ("STOREFRONT_STORE_TIMEZONE", "Mars/Olympus"),
        ("STOREFRONT_GEOIP_DB", "/no/such/file.mmdb"),
        ("STOREFRONT_DEFAULT_COUNTRY", "Germany"),
        ("STOREFRONT_MODEL_CHECK_SECONDS", "-1"),
        ("STOREFRONT_LOG_LEVEL", "LOUD"),
        ("STOREFRONT_DEMO_SIGNIN", "sometimes"),
        ("STOREFRONT_IDENTITY_SECRET", "too-short"),
        ("STOREFRONT_PUBLIC_URL", "shop.example"),
        ("STOREFRONT_PUBLIC_URL", "ftp://shop.example"),
        ("STOREFRONT_PUBLIC_URL", "https://shop.example/?x=1"),
    ],
)
def test_wrong_values_name_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError) as err:
        load_settings({"STOREFRONT_HOME": str(tmp_path), name: value})
    assert name in str(err.value)


def test_cli_reports_config_errors(tmp_path):
    from click.testing import CliRunner

    from storefront.cli import main

    result = CliRunner().invoke(
        main, ["train"], env={"STOREFRONT_HOME": str(tmp_path), "STOREFRONT_REDIS_URL": "nope"}
    )
    assert result.exit_code != 0
    assert "STOREFRONT_REDIS_URL" in result.output


def _readme_variables() -> set[str]:
    """The variables named in the first column of README's configuration table."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `STOREFRONT_")]
    return {
        name for row in rows for name in re.findall(r"`(STOREFRONT_[A-Z_]+)`", row.split("|")[1])
    }


def test_readme_lists_every_setting_and_nothing_else():
    from storefront.config import NOT_FROM_ENVIRONMENT, Settings, variable

    fields = {variable(name) for name in Settings.model_fields if name not in NOT_FROM_ENVIRONMENT}
    listed = _readme_variables()
    assert fields - listed == set(), "settings missing from README's table"
    assert listed - fields == set(), "README lists variables the Settings do not have"


def test_every_variable_is_read_and_overrides_beat_the_environment(tmp_path):
    from storefront.config import NOT_FROM_ENVIRONMENT, Settings, variable

    env = {"STOREFRONT_HOME": str(tmp_path), "STOREFRONT_RAIL_SIZE": "6"}
    s = load_settings(env, overrides={"rail_size": 5})
    assert s.rail_size == 5  # defaults, then environment, then overrides
    assert load_settings(env).rail_size == 6
    # every setting but the code-only ones comes from its own variable
    for name in set(Settings.model_fields) - set(NOT_FROM_ENVIRONMENT):
        field = Settings.model_fields[name]
        if field.annotation is bool:
            assert getattr(load_settings({**env, variable(name): "true"}), name) is True, name
    with pytest.raises(ConfigError, match="unknown setting 'rail_sise'"):
        load_settings(env, overrides={"rail_sise": 5})
    assert load_settings({**env, "STOREFRONT_EXTRA": '{"a": 1}'}).extra == {}


def test_a_bad_variable_stops_the_wsgi_app_with_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {"PATH": "/usr/bin:/bin", "STOREFRONT_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=root,
        env={**env, "STOREFRONT_RAIL_SIZE": "many"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "STOREFRONT_RAIL_SIZE" in lines[0], done.stderr
