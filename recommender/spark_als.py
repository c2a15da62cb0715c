"""ALS on Spark MLlib: the same users x items matrix, the same artifact, fitted on a cluster.

`storefront train --engine spark [--spark-master URL]` hands recommender.train.train a
`SparkALS` as its `factorize`: every ALS fit of the run (the store's validation fit in fit.py
and the final one) goes to Spark instead of implicit, and the version written is the one the
implicit path writes (factors as .npy, meta.json), so serving loads it unchanged.

pyspark is imported lazily (the `spark` extra, and Java): nothing else in the library needs it.

Spark's implicit ALS is not implicit's: its confidence is 1 + alpha * r (implicit's: alpha * r)
and its ridge penalty is regParam times the number of the user's (item's) ratings (ALS-WR), so
implicit's parameters mean nothing to it. Its rank, regParam and alpha are chosen per store at
training (`choose`): each candidate is fitted on the lines before a validation date inside the
training window (split.default_split_date, as fit.py) and scored by NDCG@10 of what returning
customers bought after it. The version's meta.json keeps Spark's own parameters ("spark") and,
under "params", their equivalents for serving's exact fold-in (models.fold_in): regularization
= regParam x the median number of products per customer, alpha = alpha + 1 / the median
confidence, which puts a typical shopper's solve where Spark put it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.base import Progress, SideInfo, top_n
from recommender.fit import MIN_CUSTOMERS, validation_split
from recommender.metrics import ndcg_at_k
from recommender.models import ALSParams, ALSRecommender, FittedFactors

LOCAL = "local[2]"
SCORE_BATCH = 2048  # validation customers scored at once (a dense batch x items block)


@dataclass(frozen=True)
class SparkParams:
    """Spark MLlib ALS's own hyper-parameters (implicitPrefs=True)."""

    rank: int = 64
    reg_param: float = 0.01
    alpha: float = 2.0
    max_iter: int = 15
    seed: int = 42

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SparkGrid:
    """What `choose` tries, one coordinate at a time (alpha, then regParam, then rank) from the
    starting parameters, each step keeping the best so far: with the start on the grid,
    len(alphas) + len(regs) + len(ranks) - 2 fits (four by default: each costs a full Spark
    ALS, which is what keeps the grid small)."""

    alphas: tuple[float, ...] = (2.0, 10.0)
    regs: tuple[float, ...] = (0.01, 0.1)
    ranks: tuple[int, ...] = (64, 32)


@dataclass
class Choice:
    """Spark's chosen parameters, their implicit-style equivalent for serving's fold-in (on
    the validation split's matrix; None: not validated), what was tried and a note."""

    params: SparkParams
    fold_in: ALSParams | None = None
    tried: list[dict] = field(default_factory=list)
    note: str = ""

    def as_dict(self) -> dict:
        return {"params": self.params.as_dict(), "tried": self.tried, "note": self.note}


def java_available() -> bool:
    """Whether a Java runtime is there for Spark (JAVA_HOME or `java` on the PATH)."""
    import shutil

    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return True
    return shutil.which("java") is not None


def spark_version() -> str:
    import pyspark

    return pyspark.__version__


def equivalent(params: SparkParams, matrix: sp.csr_matrix) -> ALSParams:
    """implicit-style parameters for serving's fold-in that match Spark's solve for a typical
    shopper (see the module's docstring)."""
    per_user = np.diff(matrix.indptr)
    n = float(np.median(per_user[per_user > 0])) if matrix.nnz else 1.0
    r = float(np.median(matrix.data)) if matrix.nnz else 1.0
    return ALSParams(
        factors=params.rank,
        regularization=round(params.reg_param * n, 6),
        alpha=round(params.alpha + 1.0 / max(r, 1e-6), 6),
        iterations=params.max_iter,
        random_state=params.seed,
    )


class SparkALS:
    """One Spark session for a training run; call it as `factorize(matrix, als_params)`.

    `params` are Spark's own; a call with implicit-style ALSParams (fit.py's validation fit)
    uses the chosen Spark parameters with that call's factor count. Fits are remembered by
    (matrix, parameters), so choosing and then fit.py's validation fit do not fit twice.
    """

    def __init__(
        self,
        master: str = LOCAL,
        params: SparkParams | None = None,
        progress: Callable[[str], None] | None = None,
        app_name: str = "storefront-train",
        partitions: int | None = None,
    ):
        self.master = master
        self.params = params or SparkParams()
        self.say = progress or (lambda _msg: None)
        self.app_name = app_name
        self.partitions = partitions
        self._spark = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._memo: dict[tuple, FittedFactors] = {}
        self.fits = 0

    # --- the session ------------------------------------------------------------------------
    def session(self):
        if self._spark is None:
            from pyspark.sql import SparkSession

            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            self._tmp = tempfile.TemporaryDirectory(prefix="storefront-spark-")
            started = time.perf_counter()
            builder = (
                SparkSession.builder.master(self.master)
                .appName(self.app_name)
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.local.dir", self._tmp.name)
                .config("spark.sql.shuffle.partitions", str(self.partitions or 4))
                .config("spark.driver.memory", "1g")
                .config("spark.executor.memory", "1g")
                # Python workers are not needed: the matrix goes over as Arrow, ALS runs in the JVM
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            )
            with _quiet():
                self._spark = builder.getOrCreate()
            self._spark.sparkContext.setLogLevel("ERROR")
            self._spark.sparkContext.setCheckpointDir(os.path.join(self._tmp.name, "ckpt"))
            self.say(
                f"Spark {self._spark.version} on {self.master} "
                f"({time.perf_counter() - started:.1f}s to start)"
            )
        return self._spark

    def close(self) -> None:
        if self._spark is not None:
            self._spark.stop()
            self._spark = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> SparkALS:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # --- fitting ----------------------------------------------------------------------------
    def _frame(self, matrix: sp.csr_matrix):
        coo = matrix.tocoo()
        pdf = pd.DataFrame(
            {
                "user": coo.row.astype(np.int32),
                "item": coo.col.astype(np.int32),
                "rating": coo.data.astype(np.float32),
            }
        )
        spark = self.session()
        parts = self.partitions or max(2, spark.sparkContext.defaultParallelism)
        with _quiet():
            frame = spark.createDataFrame(pdf)
        return frame.repartition(parts), parts

    def fit(self, matrix: sp.csr_matrix, params: SparkParams) -> FittedFactors:
        """Spark ALS on a users x items confidence matrix; factors as float32 arrays in the
        matrix's own row and column order (users or items Spark never saw: zeros)."""
        key = (_digest(matrix), params)
        if key in self._memo:
            return self._memo[key]
        from pyspark.ml.recommendation import ALS

        started = time.perf_counter()
        frame, parts = self._frame(matrix)
        als = ALS(
            rank=params.rank,
            maxIter=params.max_iter,
            regParam=params.reg_param,
            alpha=params.alpha,
            implicitPrefs=True,
            userCol="user",
            itemCol="item",
            ratingCol="rating",
            seed=params.seed,
            numUserBlocks=parts,
            numItemBlocks=parts,
            nonnegative=False,
            coldStartStrategy="nan",
            checkpointInterval=10,
        )
        model = als.fit(frame)
        with _quiet():
            users = _factors(model.userFactors.toPandas(), matrix.shape[0], params.rank)
            items = _factors(model.itemFactors.toPandas(), matrix.shape[1], params.rank)
        self.fits += 1
        self.say(
            f"Spark ALS rank {params.rank} regParam {params.reg_param:g} alpha {params.alpha:g} "
            f"x{params.max_iter}: {time.perf_counter() - started:.1f}s"
        )
        out = FittedFactors(users, items)
        self._memo[key] = out
        return out

    def __call__(
        self,
        matrix: sp.csr_matrix,
        params: ALSParams | SparkParams | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> FittedFactors:
        """models.fit_als's signature: fit.py and train.py call this in its place."""
        spark = self.params
        if isinstance(params, SparkParams):
            spark = params
        return self.fit(matrix, spark)

    # --- choosing, per store ----------------------------------------------------------------
    def choose(
        self,
        lines: pd.DataFrame,
        products: pd.DataFrame | None,
        grid: SparkGrid | None = None,
    ) -> Choice:
        """Spark's rank, regParam and alpha for this store, on a validation split inside the
        training window (NDCG@10 of returning customers' next purchases). A store too small
        to split keeps `self.params`, with a note. Sets and returns the choice."""
        grid = grid or SparkGrid()
        try:
            _, _, split = validation_split(lines, products)
        except ValueError as exc:
            return Choice(self.params, note=f"too small to validate Spark ALS on ({exc})")
        val_date = split.date
        g = split.groups["returning"]
        known = g.userids >= 0
        rows = g.userids[known]
        truths = [t for t, k in zip(g.truths, known, strict=True) if k]
        if len(rows) < MIN_CUSTOMERS:
            return Choice(
                self.params, note=f"{len(rows)} returning customers to validate Spark ALS on"
            )
        matrix = split.data.matrix
        self.say(
            f"choosing Spark ALS's rank, regParam and alpha on a validation split at "
            f"{val_date:%Y-%m-%d} ({len(rows):,} returning customers)"
        )
        tried: list[dict] = []
        scores: dict[SparkParams, float] = {}

        def score(p: SparkParams) -> float:
            if p not in scores:
                f = self.fit(matrix, p)
                scores[p] = _ndcg(f, rows, truths)
                tried.append({**p.as_dict(), "ndcg@10": round(scores[p], 4)})
            return scores[p]

        best = self.params
        for axis, values in (
            ("alpha", grid.alphas),
            ("reg_param", grid.regs),
            ("rank", grid.ranks),
        ):
            for v in values:
                cand = replace(best, **{axis: v})
                if score(cand) > score(best):
                    best = cand
        self.params = best
        # the validation fit fit.py asks for next is this very one: keep it, drop the others
        self._memo = {k: v for k, v in self._memo.items() if k[-1] == best}
        note = (
            f"Spark ALS: rank {best.rank}, regParam {best.reg_param:g}, alpha {best.alpha:g} "
            f"(validation NDCG@10 {scores[best]:.4f}, {len(tried)} fits)"
        )
        self.say(note)
        return Choice(best, equivalent(best, matrix), tried, note)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pyspark warns that it does not fully support this pandas (3.x); the conversions used
    here are plain numeric columns and float arrays, which it handles."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
        yield


def _digest(matrix: sp.csr_matrix) -> str:
    """The matrix's content, for remembering fits (fit.py builds its own copy of the split)."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    h.update(repr(matrix.shape).encode())
    for part in (matrix.indptr, matrix.indices, matrix.data):
        h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()


def _factors(frame: pd.DataFrame, n: int, rank: int) -> np.ndarray:
    out = np.zeros((n, rank), dtype=np.float32)
    if len(frame):
        ids = frame["id"].to_numpy(dtype=np.int64)
        out[ids] = np.asarray(frame["features"].tolist(), dtype=np.float32)
    return np.ascontiguousarray(out)


def _ndcg(f: FittedFactors, rows: np.ndarray, truths: Iterable[frozenset[int]]) -> float:
    truths = list(truths)
    total = 0.0
    for lo in range(0, len(rows), SCORE_BATCH):
        scores = f.user_factors[rows[lo : lo + SCORE_BATCH]] @ f.item_factors.T
        ids, _ = top_n(scores.astype(np.float32), 10)
        total += sum(
            ndcg_at_k(r, t) for r, t in zip(ids, truths[lo : lo + SCORE_BATCH], strict=True)
        )
    return total / max(len(rows), 1)


class SparkALSRecommender(ALSRecommender):
    """Spark's ALS behind the one model interface (base.Recommender), for the evaluation
    (bench/spark_quality.py): factors from a SparkALS at its chosen parameters, fold-in with
    their implicit-style equivalents, as the served version folds in."""

    name = "spark_als"

    def __init__(self, spark: SparkALS, fold_in: ALSParams | None = None):
        super().__init__(fold_in)
        self.spark = spark

    def _fit(self, user_items: sp.csr_matrix, side: SideInfo, progress: Progress) -> None:
        fitted = self.spark.fit(user_items, self.spark.params)
        self.user_factors, self.item_factors = fitted.user_factors, fitted.item_factors
        if self.params == ALSParams():  # no equivalents given: those of this matrix
            self.params = equivalent(self.spark.params, user_items)
