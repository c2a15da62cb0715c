"""Another shop's export, loaded through the column mapping alone, evaluated, tuned and retrained
from the live event log, each through the `storefront` command in its own process."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, insert

from tests.conftest import cli_process, run_cli

HEADER = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price",
          "Customer ID", "Country"]  # fmt: skip


def _export(path) -> None:
    """Red lantern buyers in the UK, blue pot buyers in Germany, fortnightly, Jan-Apr 2011."""
    rng = np.random.default_rng(3)
    titles = [f"RED HEART LANTERN {i}" for i in range(6)] + [
        f"BLUE GARDEN POT {i}" for i in range(6, 12)
    ]
    rows = []
    for c in range(40):
        red = c % 2 == 0
        day = pd.Timestamp("2011-04-04" if c >= 34 else "2011-01-03") + pd.Timedelta(days=c % 7)
        k = 0
        while day < pd.Timestamp("2011-04-29"):
            k += 1
            for i in rng.choice(range(0, 6) if red else range(6, 12), size=2, replace=False):
                rows.append(
                    [
                        f"{500000 + c * 100 + k}",
                        f"{20000 + i}",
                        titles[i],
                        "3",
                        f"{day:%Y-%m-%d} 10:15:00",
                        "1.25" if red else "6.95",
                        f"{13000 + c}",
                        "United Kingdom" if red else "Germany",
                    ]  # fmt: skip
                )
            day += pd.Timedelta(days=14)
    pd.DataFrame(rows, columns=HEADER).to_csv(path, index=False)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("other-shop")
    csv = home / "export.csv"
    _export(csv)
    out = run_cli(home, "import", "orders", str(csv), env=_env(home))
    assert "Rejected no rows" in out
    return home


def _env(home) -> dict:
    return {"STOREFRONT_DATABASE_URL": f"sqlite:///{home / 'storefront.db'}"}


def test_evaluate_runs_on_another_shops_export(home):
    out = run_cli(
        home,
        "evaluate",
        "--json",
        "--split-date",
        "2011-04-01",
        "--models",
        "popularity,popularity_country,als,item_knn",
        env=_env(home),
    )
    result = json.loads(out)
    assert result["split_date"] == "2011-04-01"
    assert set(result["models"]) == {"popularity", "popularity_country", "als", "item_knn"}
    assert result["counts"]["customers_returning"] == 34
    assert result["counts"]["customers_new"] == 6
    served = result["served"]["for_you"]["groups"]["returning"]["ndcg@10"]
    assert served > result["models"]["popularity"]["groups"]["returning"]["ndcg@10"]
    report = home / "reports"
    (run,) = list(report.iterdir())
    assert {"report.md", "results.json", "ndcg_by_group.png"} <= {p.name for p in run.iterdir()}
    assert "storefront evaluate --json --split-date 2011-04-01" in (run / "report.md").read_text()


def test_a_bad_model_name_is_refused(home, monkeypatch):
    from click.testing import CliRunner

    from storefront.cli import main

    monkeypatch.setenv("STOREFRONT_HOME", str(home))
    result = CliRunner().invoke(main, ["evaluate", "--models", "als,nope"])
    assert result.exit_code == 2 and "unknown nope" in result.output


def test_retrain_from_the_event_log_and_tune(home):
    from storefront import db

    engine = create_engine(f"sqlite:///{home / 'storefront.db'}")
    now = datetime(2011, 5, 2, 9, 0)
    events = [
        ("view", "20007"),
        ("view", "20008"),
        ("add_to_cart", "20008"),
        ("purchase", "20008"),
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(db.events),
            [
                {
                    "id": f"e{k:08d}",
                    "visitor": "anon-1",
                    "type": t,
                    "product_id": p,
                    "ts": now,
                    "received": now,
                    "device": "mobile",
                    "channel": "web",
                    "quantity": 1,
                }
                for k, (t, p) in enumerate(events)
            ],  # fmt: skip
        )
    engine.dispose()
    out = run_cli(home, "train", "--with-events", env=_env(home))
    assert "4 events in the log -> 2 (shopper, product) pairs" in out
    (version,) = [p for p in (home / "models").iterdir() if p.is_dir()]
    meta = json.loads((version / "meta.json").read_text())
    assert meta["counts"]["event_pairs"] == 2 and meta["source"] == "orders+events"

    out = run_cli(
        home, "tune", "--budget", "2", "--split-date", "2011-04-01", "--publish", env=_env(home)
    )
    assert "Best parameters:" in out and "published" in out
    saved = json.loads((home / "models" / "params.json").read_text())
    assert set(saved) == {"als", "knn", "blend", "trending_days"}
    versions = sorted(p.name for p in (home / "models").iterdir() if p.is_dir())
    assert len(versions) == 2
    assert (home / "models" / "CURRENT").read_text().strip() == versions[-1]  # tuned, current


def test_evaluate_json_is_one_document_with_the_baselines_and_publishes_nothing(home):
    done = cli_process(
        home,
        *("evaluate", "--json", "--split-date", "2011-04-01", "--models", "popularity,ease"),
        env=_env(home),
    )
    result = json.loads(done.stdout)  # the whole of stdout: one JSON document
    assert "published" not in done.stdout + done.stderr  # its temporary model is not
    row = result["comparison"]["groups"]["returning"]
    assert {"served", "popularity", "buy_again", "best_bare", "ease"} <= set(row)
    assert row["customers"] == 34
    assert "ease" in result["comparison"]["new_only"]["returning"]


def test_tune_json_publish_prints_one_json_document(home):
    args = ["tune", "--json", "--budget", "1", "--split-date", "2011-04-01", "--publish"]
    done = cli_process(home, *args, env=_env(home))
    result = json.loads(done.stdout)
    assert result["published"] == (home / "models" / "CURRENT").read_text().strip()
