"""Behind a reverse proxy (issue 16): the sign-in throttle counts per the proxy's client, read
from X-Forwarded-For, only when the proxy's address is trusted
(``REALNAME_FORWARDED_ALLOW_IPS``); otherwise the header is ignored, as anyone can send it.
The service runs in its own process with the CLI's uvicorn settings."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from tests.service.conftest import PASSWORD, key_settings
from tests.service.server_process import ServerProcess


def _attempts(url: str, forwarded: list[str]) -> list[int]:
    form = {"username": "clerk_a", "password": PASSWORD}
    return [
        httpx2.post(
            f"{url}/api/v1/auth/token", data=form, headers={"X-Forwarded-For": ip}, timeout=30
        ).status_code
        for ip in forwarded
    ]


@pytest.mark.parametrize("trusted", ["127.0.0.1", ""])
def test_the_client_address_comes_from_a_trusted_proxy_only(tmp_path: Path, trusted: str) -> None:
    settings = {
        "database_url": f"sqlite:///{tmp_path / 'realname.db'}",
        "login_rate_address": "2/minute",
        "login_rate_account": "100/minute",
        "card_reader": "none",
        "forwarded_allow_ips": trusted,
        **key_settings(),
    }
    server = ServerProcess(tmp_path, settings, verifier="block")
    try:
        server.wait_ready()
        codes = _attempts(server.url, ["198.51.100.1", "198.51.100.1", "198.51.100.1"])
        others = _attempts(server.url, ["198.51.100.2", "198.51.100.3"])
    finally:
        server.stop()
    assert codes == [200, 200, 429]
    if trusted:  # each forwarded client has its own budget
        assert others == [200, 200]
    else:  # the header is ignored: every request is 127.0.0.1's, whose budget is spent
        assert others == [429, 429]
