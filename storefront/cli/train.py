"""`storefront train`, and what training, evaluation and tuning share: the shop's training
parameters, the served rail's replay, and one training run that publishes.

Training always happens in the command's own process, never in the server, because implicit's
OpenMP pool does not survive gunicorn's fork.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from storefront.cli import common
from storefront.config import Settings

if TYPE_CHECKING:
    import pandas as pd

    from recommender.evaluate import Replay
    from recommender.lineup import ShopParams


def shop_params(settings: Settings) -> ShopParams:
    """The shop's training parameters: what `storefront tune --publish` chose, else defaults."""
    from dataclasses import replace

    from recommender import registry
    from recommender.lineup import ShopParams

    saved = registry.read_params(settings.models_dir)
    shop = ShopParams.from_dict(saved) if saved else ShopParams()
    return replace(shop, trending_days=settings.trending_days)


def served_replay(settings: Settings) -> Replay:
    """The replay of the served rail that `evaluate.run` is handed: the recommender library
    measures models, the shop measures what it serves (the cycle evaluate <-> served is gone)."""
    from functools import partial

    from storefront.core.replay import evaluate_served

    return partial(evaluate_served, settings=settings)


def quick_metrics(
    lines: pd.DataFrame,
    products: pd.DataFrame,
    shop: ShopParams,
    settings: Settings,
    say: Callable[[str], None],
) -> dict:
    """NDCG@10 of these parameters on the default temporal split, for the registry."""
    from recommender.evaluate import run

    say("evaluating these parameters on the temporal split")
    result = run(lines, products, None, ("popularity", "als"), shop, served_replay(settings), say)
    pick = {
        "popularity": result["models"]["popularity"],
        "als": result["served"]["als_plain"],
        "for_you": result["served"]["for_you"],
    }
    return {
        "split_date": result["split_date"],
        **{
            f"{name}_ndcg@10_{group}": round(entry["groups"][group]["ndcg@10"], 4)
            for name, entry in pick.items()
            for group in ("all", "new")
        },
    }


def train_model(
    settings: Settings,
    engine,
    with_events: bool = False,
    evaluate: bool = False,
    shop: ShopParams | None = None,
    spark_master: str | None = None,
) -> None:
    """Train on the store's orders (and imported interactions, and the event log with
    with_events), publish the version, and print one line about it. spark_master: ALS on
    Spark MLlib at that master (`local[2]`, `spark://host:port`) instead of implicit."""
    import pandas as pd

    from storefront.training_data import read_events, read_interactions, read_orders

    shop = shop or shop_params(settings)
    common.say("reading order lines")
    lines, products = read_orders(engine)
    imported = read_interactions(engine)
    if lines.empty and imported.empty:
        raise click.ClickException(
            "The store has no order lines or interactions to train on. Import some first: "
            "`storefront import orders FILE` or `storefront import interactions FILE` "
            "(or `storefront demo` for the demo shop)."
        )
    if products.empty:
        raise click.ClickException(
            "The store has no products, so there is nothing to recommend. Import orders "
            "(`storefront import orders FILE`) or the catalog first."
        )
    extra = imported if not imported.empty else None
    if extra is not None:
        common.say(f"{len(imported):,} imported (shopper, product) interaction pairs")
    if with_events:
        from recommender import event_log

        events, identities = read_events(engine)
        logged = event_log.interactions(events, identities)
        common.say(f"{len(events):,} events in the log -> {len(logged):,} (shopper, product) pairs")
        extra = logged if extra is None else pd.concat([extra, logged], ignore_index=True)
    metrics = None
    if evaluate and lines.empty:
        raise click.ClickException("--evaluate measures on order history; this store has none.")
    if evaluate:
        metrics = quick_metrics(lines, products, shop, settings, common.say)
    spark = None
    factorize: dict = {}
    if spark_master is not None:
        spark, factorize = _spark_engine(spark_master, lines, products, shop)
    try:
        report = _train(
            lines, products, settings, shop, extra, metrics, imported, with_events, factorize
        )
    finally:
        if spark is not None:
            spark.close()
    if report.published:  # every node follows the database's published version
        from storefront import model_store

        model_store.publish(engine, settings.models_dir, report.version)
    click.echo(
        f"Model {report.version}: {report.users:,} customers, {report.items:,} products, "
        f"{report.interactions:,} interactions, {report.seconds:.1f}s"
        + (", published." if report.published else ".")
    )


def _spark_engine(master: str, lines, products, shop: ShopParams):
    """A Spark session at `master` with its ALS parameters chosen for this store on
    validation: (the SparkALS to close, train's keyword arguments)."""
    from dataclasses import replace

    try:
        from recommender import spark_als
    except ImportError as exc:  # pragma: no cover - the module itself imports no pyspark
        raise click.ClickException(str(exc)) from exc
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise click.ClickException(
            "--engine spark needs pyspark: install the spark extra "
            '(`pip install -e ".[spark]"`, or scripts/setup.sh --test)'
        ) from exc
    if not spark_als.java_available():
        raise click.ClickException(
            "--engine spark needs a Java runtime (17 or later): set JAVA_HOME or put `java` "
            "on the PATH (Debian: apt-get install openjdk-17-jre-headless)"
        )
    start = spark_als.SparkParams(max_iter=shop.als.iterations, seed=shop.als.random_state)
    spark = spark_als.SparkALS(master, start, progress=common.say)
    try:
        choice = spark.choose(lines, products)
    except Exception as exc:
        spark.close()
        raise click.ClickException(f"Spark at {master} failed: {exc}") from exc
    if choice.note:
        common.say(f"note: {choice.note}")
    fold = choice.fold_in or replace(shop.als, factors=choice.params.rank)
    return spark, {
        "factorize": spark,
        "params": fold,
        "engine": {
            "name": "spark",
            "master": master,
            "pyspark": spark_als.spark_version(),
            "spark": choice.params.as_dict(),
            "choice": choice.as_dict(),
        },
    }


def _train(lines, products, settings, shop, extra, metrics, imported, with_events, engine_kw):
    from recommender.train import train

    return train(
        lines,
        products["id"].tolist(),
        settings.models_dir,
        params=engine_kw.get("params", shop.als),
        trending_days=shop.trending_days,
        progress=common.say,
        knn=shop.knn,
        blend=shop.blend,
        extra=extra,
        metrics=metrics,
        source="+".join(
            ["orders"]
            + (["interactions"] if not imported.empty else [])
            + (["events"] if with_events else [])
        ),
        products=products,
        **{k: v for k, v in engine_kw.items() if k != "params"},
    )


@click.command("train")
@click.option(
    "--with-events",
    is_flag=True,
    help="Add the shop's own event log (views, clicks, carts, purchases) to the orders.",
)
@click.option(
    "--evaluate",
    "evaluate",
    is_flag=True,
    help="Also measure these parameters on the temporal split and record it with the version.",
)
@click.option(
    "--engine",
    "engine_name",
    type=click.Choice(["implicit", "spark"]),
    default="implicit",
    show_default=True,
    help="Fit ALS with implicit in this process, or with Spark MLlib (the spark extra, Java).",
)
@click.option(
    "--spark-master",
    default=None,
    metavar="URL",
    help="With --engine spark: the Spark master (spark://host:7077, or local[N]); "
    "default local[2].",
)
def train_cmd(
    with_events: bool, evaluate: bool, engine_name: str, spark_master: str | None
) -> None:
    """Train a model on the imported orders and publish it (workers swap it in within seconds)."""
    if spark_master is not None and engine_name != "spark":
        raise click.BadParameter("only with --engine spark", param_hint="--spark-master")
    if spark_master is not None and not spark_master.startswith(("spark://", "local")):
        raise click.BadParameter(
            "a Spark master URL: spark://HOST:PORT or local[N]", param_hint="--spark-master"
        )
    master = (spark_master or "local[2]") if engine_name == "spark" else None
    settings = common.settings()
    train_model(
        settings,
        common.engine(settings),
        with_events=with_events,
        evaluate=evaluate,
        spark_master=master,
    )
