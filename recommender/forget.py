"""Forget users in a trained version: the same version, less some of its users.

A version keeps, per user, an entry of the id map (user_ids.npy), a factor row, a row of the
users x items matrix (ui_indptr, and ui_indices, ui_data, ui_age, ui_span, ui_orders aligned with
its entries), the learned repeat share and order count, a segment number, and possibly a place
among a segment's example customers (segments.json). `forget` writes a copy of a version folder
with the rows of the given users taken out of every one of these, so the copy loads and serves
everyone else exactly as before. What the version learnt from everyone together (item factors,
neighbours, popularity, per-product counts) names nobody and stays until the next training.

A folder holding a per-user file this module does not know is refused (`CannotForget`): the
caller must not claim a version clean that it could not clean.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from recommender import registry

USER_IDS = "user_ids.npy"
VISITOR_PREFIX = "visitor:"  # event_log.VISITOR_PREFIX: a visitor who never signed in
BY_USER = ("user_ids", "user_factors", "user_repeat", "user_orders", "user_segment")  # a row each
BY_ENTRY = ("ui_indices", "ui_data", "ui_age", "ui_span", "ui_orders")  # one per matrix entry
INDPTR = "ui_indptr"
SEGMENTS = "segments.json"
# files whose names mention users but that hold context features, not people (cold.py)
NOT_PEOPLE = frozenset({"cold_user_names.npy", "cold_user_embeddings.npy"})
FORGOTTEN = "forgotten_users"  # meta.json: how many users were taken out after training


class CannotForget(RuntimeError):
    """A version whose per-user data this module cannot rewrite."""


def user_ids(folder: Path) -> np.ndarray:
    """The version's user id map (customer ids, and "visitor:<id>" for visitors)."""
    return np.load(Path(folder) / USER_IDS, allow_pickle=False)


def ids_as_users(ids: Iterable[str]) -> np.ndarray:
    """Visitor or customer ids as the version's users may name them: as they are, and as a
    visitor who never signed in ("visitor:<id>")."""
    ids = [str(i) for i in ids if i]
    return np.asarray([*ids, *(VISITOR_PREFIX + i for i in ids)], dtype=str)


def segment_examples(folder: Path) -> list[str]:
    """Every customer id named as a segment's example."""
    try:
        segs = json.loads((Path(folder) / SEGMENTS).read_text())
    except FileNotFoundError:
        return []
    return [str(e) for s in segs for e in s.get("examples", [])]


def traces(folder: Path, ids: Iterable[str]) -> dict[str, int]:
    """{file: how many of these ids it names} for one version folder: its user id map and its
    segments' examples (product-keyed files are not read: a product id may look like a
    customer number)."""
    wanted = ids_as_users(ids)
    found = {}
    n = int(np.isin(wanted, user_ids(folder)).sum()) if (Path(folder) / USER_IDS).is_file() else 0
    if n:
        found[USER_IDS] = n
    n = int(np.isin(wanted, np.asarray(segment_examples(folder), dtype=str)).sum())
    if n:
        found[SEGMENTS] = n
    return found


def check_known(folder: Path) -> None:
    """Raise CannotForget when the folder holds a per-user file `forget` does not rewrite."""
    known = {f"{n}.npy" for n in (*BY_USER, *BY_ENTRY, INDPTR)} | NOT_PEOPLE | {SEGMENTS}
    odd = sorted(
        p.name for p in Path(folder).iterdir() if "user" in p.name.lower() and p.name not in known
    )
    if odd:
        raise CannotForget(f"{Path(folder).name}: cannot take users out of {', '.join(odd)}")


def _save(path: Path, array: np.ndarray) -> None:
    np.save(path, np.ascontiguousarray(array), allow_pickle=False)


def forget(src: Path, dst: Path, drop: np.ndarray, examples: Iterable[str] = ()) -> int:
    """Write to `dst` (a new folder) the version at `src` without the users at rows `drop`
    (and without `examples` among segment examples). Files left as they are become hard links
    (a copy where the file system refuses). Returns how many users were taken out."""
    src, dst = Path(src), Path(dst)
    check_known(src)
    ids = user_ids(src)
    keep = np.ones(len(ids), dtype=bool)
    keep[np.asarray(drop, dtype=np.int64)] = False
    dst.mkdir(parents=True)
    rewritten = {SEGMENTS, registry.META}
    indptr_path = src / f"{INDPTR}.npy"
    if indptr_path.is_file():
        indptr = np.load(indptr_path, allow_pickle=False)
        lengths = np.diff(indptr)
        entries = np.repeat(keep, lengths)  # each entry belongs to its user's row
        _save(
            dst / f"{INDPTR}.npy",
            np.concatenate([[0], np.cumsum(lengths[keep])]).astype(indptr.dtype),
        )
        rewritten.add(f"{INDPTR}.npy")
        for name in BY_ENTRY:
            path = src / f"{name}.npy"
            if path.is_file():
                _save(dst / path.name, np.load(path, allow_pickle=False)[entries])
                rewritten.add(path.name)
    for name in BY_USER:
        path = src / f"{name}.npy"
        if path.is_file():
            _save(dst / path.name, np.load(path, allow_pickle=False)[keep])
            rewritten.add(path.name)
    gone = set(ids[~keep].tolist()) | {str(e) for e in examples}
    if (src / SEGMENTS).is_file():
        segs = json.loads((src / SEGMENTS).read_text())
        for s in segs:
            s["examples"] = [e for e in s.get("examples", []) if str(e) not in gone]
        (dst / SEGMENTS).write_text(json.dumps(segs, indent=1))
    meta = json.loads((src / registry.META).read_text())
    removed = int((~keep).sum())
    meta[FORGOTTEN] = int(meta.get(FORGOTTEN, 0)) + removed
    counts = meta.get("counts", {})
    if "users" in counts:
        counts["users"] = int(keep.sum())
    if "interactions" in counts and indptr_path.is_file():
        counts["interactions"] = int(np.load(dst / f"{INDPTR}.npy")[-1])
    (dst / registry.META).write_text(json.dumps(meta, indent=2))
    for path in src.rglob("*"):
        rel = path.relative_to(src)
        if path.is_dir() or rel.as_posix() in rewritten:
            continue
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dst / rel)  # never written in place: sharing the inode is safe
        except OSError:
            shutil.copy2(path, dst / rel)
    return removed


def swap_in(new: Path, target: Path) -> None:
    """Put the folder `new` where `target` is: the old one moved aside, then removed. Readers
    that mapped the old files keep their mapping; a loader in the instant between the two
    renames finds no version and tries again at its next check."""
    aside = new.with_name(new.name + ".old")
    os.replace(target, aside)
    os.replace(new, target)
    shutil.rmtree(aside, ignore_errors=True)
