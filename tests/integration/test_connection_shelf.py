"""The connections this module's own commands use (run_script, run_scripts, set_many) wait on
the client's Shelf between commands instead of going back to redis-py's pool each time; a
shelved connection is checked as the pool checks one it hands out, one that failed never goes
back on the shelf, and a forked child does not use its parent's."""

from __future__ import annotations

import os

import pytest
import redis

from storefront.redis_client import Shelf, connect, run_script, run_scripts, send_many, set_many

ECHO = "return ARGV[1]"


@pytest.fixture
def client(embedded_redis_url):
    made = connect(embedded_redis_url, name="shelf test")
    yield made
    made.connection_pool.disconnect()


def _count_checkouts(client, monkeypatch) -> list:
    taken: list = []
    pool = client.connection_pool
    real = pool.get_connection

    def counting():
        taken.append(1)
        return real()

    monkeypatch.setattr(pool, "get_connection", counting)
    return taken


def test_a_connection_waits_on_the_shelf_between_commands(client, monkeypatch):
    assert isinstance(client.shelf, Shelf)
    script = client.register_script(ECHO)
    assert run_script(script, [], ["one"]) == "one"
    assert len(client.shelf.idle) == 1
    shelved = client.shelf.idle[0]
    taken = _count_checkouts(client, monkeypatch)
    assert run_script(script, [], ["two"]) == "two"
    assert run_script(script, [], ["three"], raw=True) == b"three"
    set_many(client, [("shelf:test:a", "1", 60)])
    assert run_scripts((script, [], ["four"]), (script, [], ["five"], True)) == ["four", b"five"]
    assert taken == [1]  # run_scripts held two at once: the second came from the pool
    assert client.shelf.idle[0] is shelved and len(client.shelf.idle) == 2
    assert client.get("shelf:test:a") == "1"


def test_a_connection_the_server_closed_is_replaced_without_an_error(client):
    script = client.register_script(ECHO)
    run_script(script, [], ["warm"])
    conn = client.shelf.idle[0]
    conn.send_command("CLIENT", "ID")
    own_id = conn.read_response()
    client.client_kill_filter(_id=own_id)  # through the pool: another connection
    assert run_script(script, [], ["again"]) == "again"
    assert not client.breaker.is_open


def test_a_reply_left_unread_is_never_handed_out(client):
    script = client.register_script(ECHO)
    run_script(script, [], ["warm"])
    conn = client.shelf.idle[0]
    conn.send_command("PING")  # a reply the shelf's next user must not read as its own
    assert conn.can_read(timeout=5)  # arrived (as the pool's own check, the shelf's polls)
    assert run_script(script, [], ["mine"]) == "mine"
    assert run_script(script, [], ["mine too"]) == "mine too"


def test_a_connection_that_failed_goes_back_to_the_pool_disconnected(client, monkeypatch):
    script = client.register_script(ECHO)
    run_script(script, [], ["warm"])
    conn = client.shelf.idle[0]
    dropped: list = []
    monkeypatch.setattr(conn, "disconnect", lambda *a, **k: dropped.append(1))

    def broken(*args, **kwargs):
        raise redis.ConnectionError("lost")

    monkeypatch.setattr(conn, "read_response", broken)
    with pytest.raises(redis.ConnectionError):
        run_script(script, [], ["lost"])
    assert dropped and client.shelf.idle == []
    monkeypatch.undo()
    conn.disconnect()
    assert run_script(script, [], ["fine"]) == "fine"


def test_a_server_error_keeps_the_connection(client):
    script = client.register_script("return redis.error_reply('NOPE no')")
    with pytest.raises(redis.ResponseError):
        run_script(script, [], [])
    assert len(client.shelf.idle) == 1


def test_the_pool_disconnecting_everything_is_survived(client):
    script = client.register_script(ECHO)
    run_script(script, [], ["warm"])
    client.connection_pool.disconnect()  # the shelved connection among them
    assert run_script(script, [], ["back"]) == "back"


def test_a_forked_child_does_not_use_its_parents_connections(client):
    script = client.register_script(ECHO)
    run_script(script, [], ["warm"])
    assert client.shelf.idle
    pid = os.fork()
    if pid == 0:  # the child: exit at once, saying whether the shelf was emptied
        os._exit(0 if client.shelf.idle == [] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.shelf.idle  # the parent's are still there


def test_send_many_sends_at_once_and_an_error_drops_the_connection(client):
    send_many(client, [("HSET", "shelf:test:h", "a", "1", "b", 2), ("EXPIRE", "shelf:test:h", 60)])
    assert client.hgetall("shelf:test:h") == {"a": "1", "b": "2"}
    assert 0 < client.ttl("shelf:test:h") <= 60
    shelved = len(client.shelf.idle)
    with pytest.raises(redis.ResponseError):  # INCR of a hash: an error reply, then one unread
        send_many(client, [("INCR", "shelf:test:h"), ("EXPIRE", "shelf:test:h", 60)])
    assert len(client.shelf.idle) == shelved - 1  # dropped, not shelved with a reply unread
    assert run_script(client.register_script(ECHO), [], ["clean"]) == "clean"
