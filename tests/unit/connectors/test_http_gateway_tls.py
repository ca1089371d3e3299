"""TLS in the gateway: HTTPS with a self-signed certificate made by openssl in the test."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from connectors.sources.base import ConfigurationError
from connectors.sources.http.gateway import GatewayConfig
from connectors.sources.http.keys import add_key
from ioc.settings import settings_for_tests
from tests.unit.connectors.gateway_harness import FakeProducer, post, qr, serving

pytestmark = pytest.mark.unit


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_in_the_gateway(tmp_path: Path) -> None:
    cert, key_file = _self_signed(tmp_path)
    key = add_key(tmp_path / "keys.json", "gate-1", ["qr"])
    producer = FakeProducer()

    async def main() -> None:
        async with serving(
            tmp_path, producer, tls_cert_file=str(cert), tls_key_file=str(key_file)
        ) as gw:
            assert gw.url.startswith("https://127.0.0.1:")
            assert gw.ssl_context is not None
            assert gw.ssl_context.minimum_version == ssl.TLSVersion.TLSv1_2
            trust = ssl.create_default_context(cafile=str(cert))
            async with httpx.AsyncClient(base_url=gw.url, verify=trust, timeout=10) as client:
                r = await post(client, key, qr())
                assert r.status_code == 200, r.text
                assert (await client.get("/health")).status_code == 200
            assert len(producer.events) == 1
            # Plain HTTP to the TLS port: no answer, nothing written.
            plain = gw.url.replace("https://", "http://")
            async with httpx.AsyncClient(base_url=plain, timeout=10) as client:
                with pytest.raises(httpx.TransportError):
                    await post(client, key, qr())
            # A client that does not trust the certificate does not send its key.
            async with httpx.AsyncClient(base_url=gw.url, timeout=10) as client:
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await post(client, key, qr())
            assert len(producer.events) == 1

    asyncio.run(main())


def test_tls_misconfiguration_is_a_clear_error(tmp_path: Path) -> None:
    cert, key_file = _self_signed(tmp_path)
    with pytest.raises(ConfigurationError, match="both a certificate and its key"):
        GatewayConfig(tls_cert_file=str(cert))
    with pytest.raises(ValidationError, match="IOC_HTTP_TLS_CERT_FILE and IOC_HTTP_TLS_KEY_FILE"):
        settings_for_tests(http_tls_key_file=str(key_file))
    other = tmp_path / "other"
    other.mkdir()
    _, wrong_key = _self_signed(other)
    add_key(tmp_path / "keys.json", "gate-1", ["qr"])
    for cert_file, key in ((cert, wrong_key), (cert, tmp_path / "missing.pem"), (key_file, cert)):

        async def start(c: Path = cert_file, k: Path = key) -> None:
            async with serving(tmp_path, tls_cert_file=str(c), tls_key_file=str(k)):
                pass

        with pytest.raises(ConfigurationError, match="TLS"):
            asyncio.run(start())
