"""Three shop nodes behind HAProxy, as in production and all on 127.0.0.1: a 6-process Redis
Cluster (3 primaries, 3 replicas), one PostgreSQL database, three `storefront serve` processes
with homes of their own, HAProxy from deploy/haproxy.cfg. It shows that nothing a page needs
lives on one node: a click on node A changes the visitor's next page on node B; a rules publish
and a model publish from node A are live on every node; and under load, kill -9 of a shop node
and of a Redis primary loses no acknowledged event, lets no 5xx through to the shopper, and
every node recovers without a restart. Skipped, saying why, without haproxy, redis-server or
PostgreSQL on 127.0.0.1:5432."""

from __future__ import annotations

import http.cookiejar
import json
import os
import random
import re
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, func, select

from storefront import db
from tests.conftest import run_cli
from tests.helpers import grocery_orders
from tests.multinode.cluster_support import start_cluster
from tests.multinode.fleet import (
    Balancer,
    Missing,
    Node,
    check_tools,
    create_database,
    drop_database,
    free_port,
    node_env,
)
from tests.stores.grocery import write_store

REDIS_PORTS = list(range(7420, 7426))
pytestmark = pytest.mark.timeout(900)


class Shopper:
    """A browser: one cookie jar, whichever address it is pointed at (a node or HAProxy)."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.n = 0

    def get(self, url: str, timeout: float = 20) -> tuple[int, dict, str]:
        try:
            with self.opener.open(url, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode()

    def view(self, base: str, product: str, tag: str) -> tuple[int, str]:
        """POST one view event; (status, its id)."""
        self.n += 1
        event_id = f"{tag}-{id(self)}-{self.n}"
        event = {"id": event_id, "type": "view", "product_id": product}
        body = {"events": [{**event, "ts": int(time.time() * 1000)}]}
        req = urllib.request.Request(
            base + "/events",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with self.opener.open(req, timeout=20) as r:
                return r.status, event_id
        except urllib.error.HTTPError as exc:
            return exc.code, event_id


def rail(html: str, strategy: str) -> list[str]:
    m = re.search(rf'<section[^>]*data-strategy="{strategy}".*?</section>', html, re.S)
    return re.findall(r'data-product-id="([^"]+)"', m.group(0)) if m else []


def products_of(html: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r'data-product-id="([^"]+)"', html)))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    try:
        check_tools()
        name = f"sf_multinode_{os.getpid()}"
        url = create_database(name)
    except Missing as exc:
        pytest.skip(str(exc))
    work = tmp_path_factory.mktemp("fleet")
    cluster = start_cluster(work / "redis", REDIS_PORTS)
    nodes: list[Node] = []
    lb = None
    try:
        homes = [work / f"node{i}" for i in (1, 2, 3)]
        envs = [node_env(h, url, cluster.url) for h in homes]
        paths = write_store(work / "export", customers=150)  # the grocery test store
        orders, args, _ = grocery_orders(paths["orders"])
        run_cli(homes[0], "import", "orders", str(orders), *args, env=envs[0])
        run_cli(homes[0], "train", env=envs[0])  # published in the database for every node
        nodes = [Node(f"node{i}", free_port(), homes[i - 1], envs[i - 1]) for i in (1, 2, 3)]
        for node in nodes:
            node.start()
        lb = Balancer(work / "haproxy", free_port(), nodes)
        lb.start()
        engine = create_engine(url)
        yield SimpleNamespace(nodes=nodes, lb=lb, cluster=cluster, url=url, engine=engine)
        engine.dispose()
    finally:
        if lb is not None:
            lb.stop()
        for node in nodes:
            node.stop()
        cluster.stop()
        drop_database(name)


def catalog_ids(fleet) -> list[str]:
    with fleet.engine.connect() as conn:
        return list(conn.execute(select(db.products.c.id).limit(200)).scalars())


def test_a_click_on_node_a_changes_the_next_page_on_node_b(fleet):
    a, b = fleet.nodes[0], fleet.nodes[1]
    shopper = Shopper()
    status, _, first = shopper.get(b.url + "/")
    assert status == 200
    before = rail(first, "because_you_viewed")
    products = catalog_ids(fleet)
    for pid in products[5:8]:
        assert shopper.view(a.url, pid, "ab")[0] == 202  # the clicks land on node A
    status, _, after_html = shopper.get(b.url + "/")  # the next page, on node B
    assert status == 200
    after = rail(after_html, "because_you_viewed")
    assert after and after != before
    # and the cart put in on node B is the one node C shows
    c = fleet.nodes[2]
    form = shopper.get(b.url + f"/p/{products[9]}")[2]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    data = f"product_id={products[9]}&quantity=2&csrf_token={token}".encode()
    shopper.opener.open(urllib.request.Request(b.url + "/cart", data=data), timeout=20).read()
    status, _, cart = shopper.get(c.url + "/cart")
    assert status == 200 and f'data-product-id="{products[9]}"' in cart


def versions_everywhere(fleet, header: str, want: str, within: float) -> float:
    """Seconds until every node answers `want` in `header` (polling each node directly)."""
    started = time.monotonic()
    shopper = Shopper()
    while True:
        seen = {n.name: shopper.get(n.url + "/")[1].get(header) for n in fleet.nodes}
        if all(v == want for v in seen.values()):
            return time.monotonic() - started
        assert time.monotonic() - started < within, (header, want, seen)
        time.sleep(0.2)


def test_rules_and_model_published_from_node_a_are_live_on_every_node(fleet, tmp_path):
    a = fleet.nodes[0]
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: No trending\n    then:\n      remove: [trending]\n")
    out = run_cli(a.home, "rules", "import", str(rules), "--publish", env=a.env)
    label = re.search(r"Published (\S+)", out).group(1)
    took = versions_everywhere(fleet, "X-Rules-Version", label, within=15)
    for node in fleet.nodes:
        html = Shopper().get(node.url + "/")[2]
        assert 'data-slot="trending"' not in html, node.name
    print(f"\nrules {label} served by every node after {took:.1f}s")

    out = run_cli(a.home, "train", env=a.env)
    version = re.search(r"Model (\S+):", out).group(1)
    took = versions_everywhere(fleet, "X-Model-Version", version, within=60)
    print(f"model {version} served by every node after {took:.1f}s")


def test_killing_a_node_and_a_redis_primary_under_load(fleet):
    """Load through HAProxy (pages and events); kill -9 node2, then a Redis primary: no 5xx
    and no failed request reaches a shopper, every acknowledged event is in PostgreSQL, and
    the nodes left serve personal pages again without a restart."""
    products = catalog_ids(fleet)
    lb = fleet.lb
    acked: list[str] = []
    bad: list[str] = []
    counts = {"pages": 0, "events": 0}
    stop = threading.Event()

    def shop(seed: int) -> None:
        rnd = random.Random(seed)
        shopper = Shopper()
        while not stop.is_set():
            try:
                path = rnd.choice(["/", f"/p/{rnd.choice(products)}", "/cart"])
                status, _, _ = shopper.get(lb.url + path)
                counts["pages"] += 1
                if status >= 500:
                    bad.append(f"page {status}")
                status, event_id = shopper.view(lb.url, rnd.choice(products), f"load{seed}")
                counts["events"] += 1
                if status == 202:
                    acked.append(event_id)
                elif status >= 500:
                    bad.append(f"event {status}")
            except OSError as exc:  # a reset or refused connection reached the shopper
                bad.append(f"{exc.__class__.__name__}: {exc}")

    threads = [threading.Thread(target=shop, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(3)
        fleet.nodes[1].kill9()  # a shop node dies mid-traffic
        time.sleep(3)
        victim = fleet.cluster.primaries()[0]
        fleet.cluster.kill(victim)  # and a Redis primary: its replica takes over
        killed_at = time.monotonic()
        fleet.cluster.wait_failover(victim, timeout=30)
        failover = time.monotonic() - killed_at
        time.sleep(4)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    print(
        f"\nload: {counts['pages']} pages, {counts['events']} event posts, {len(acked)} "
        f"acknowledged; Redis failover of {victim} took {failover:.1f}s; bad: {bad[:5]}"
    )
    assert not bad, bad[:10]
    assert counts["pages"] > 50 and len(acked) > 50
    with fleet.engine.connect() as conn:
        stored = set(
            conn.execute(select(db.events.c.id).where(db.events.c.id.in_(acked))).scalars()
        )
        total = conn.execute(select(func.count()).select_from(db.events)).scalar()
    lost = [i for i in acked if i not in stored]
    assert not lost, f"{len(lost)} acknowledged events missing, e.g. {lost[:5]} ({total} stored)"

    # recovery without a restart: the nodes that ran through it answer ready and personal
    survivors = [fleet.nodes[0], fleet.nodes[2]]
    for node in survivors:
        deadline = time.monotonic() + 20
        while Shopper().get(node.url + "/health/ready")[0] != 200:
            assert time.monotonic() < deadline, node.name
            time.sleep(0.2)
    shopper = Shopper()
    shopper.get(survivors[0].url + "/")
    assert shopper.view(survivors[0].url, products[3], "after")[0] == 202
    html = shopper.get(survivors[1].url + "/")[2]
    assert rail(html, "because_you_viewed"), "the session written on one node reads on another"
    # the killed node, started again, is taken back by HAProxy
    fleet.nodes[1].start()
    deadline = time.monotonic() + 15
    while lb.servers_up().get("node2") != "up":
        assert time.monotonic() < deadline, lb.servers_up()
        time.sleep(0.2)
    assert all(Shopper().get(lb.url + "/")[0] == 200 for _ in range(6))


def test_the_load_balancer_configuration_ships_with_the_project():
    path = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"
    text = path.read_text()
    for needed in ("@LISTEN@", "@SERVERS@", "option redispatch", "retry-on", "/health/live"):
        assert needed in text, needed
