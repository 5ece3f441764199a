"""The outbound network guard: an SSRF corpus that must be refused without a single connection,
redirects checked hop by hop, no DNS rebinding, TLS checked against the original host name, and
the URL fetcher's size cap and deadline.

Connections are observed two ways: a real listener on the forbidden loopback port that must
accept nothing, and Python's audit hook for `socket.connect`, which sees every connection this
process attempts (to any address, including ones nothing here could listen on).
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.inputs.fetch import fetch_url
from app.netguard import BlockedDestination, check_destination, guarded_stream, system_resolver
from app.pipeline.errors import PipelineError

TIMEOUT = httpx.Timeout(5.0)

# --- observing connections ---------------------------------------------------------------------

_connects: list[tuple[Any, ...]] = []
_recording = threading.Event()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recording.is_set() and event == "socket.connect":
        _connects.append(tuple(args[1]) if isinstance(args[1], tuple) else (args[1],))


sys.addaudithook(_audit)


@dataclass
class ConnectLog:
    """Every socket.connect this process attempted while recording."""

    def __enter__(self) -> list[tuple[Any, ...]]:
        _connects.clear()
        _recording.set()
        return _connects

    def __exit__(self, *_: object) -> None:
        _recording.clear()


@dataclass
class Listener:
    """A TCP listener that counts the connections it accepts (it must stay at zero)."""

    host: str
    port: int = 0
    accepted: list[tuple[Any, ...]] = field(default_factory=list)

    def start(self) -> Listener:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.host, self.port))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted.append(peer)
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture()
def loopback() -> Iterator[Listener]:
    """The forbidden target: a listener on 127.0.0.1 (and ::1 on the same port when possible)."""
    listener = Listener("127.0.0.1").start()
    v6: Listener | None = None
    try:
        v6 = Listener("::1", listener.port).start()
    except OSError:  # no IPv6 loopback here; the audit hook still sees any attempt
        v6 = None
    yield listener
    listener.stop()
    if v6 is not None:
        v6.stop()
        listener.accepted.extend(v6.accepted)


def strict_settings(**overrides: Any) -> Settings:
    """Deployment defaults: no internal range allowed (unlike the test environment)."""
    return Settings(**{"allowed_private_networks": [], **overrides})


# Names a test resolver answers; anything else goes to the system resolver (literals, localhost).
FAKE_DNS: dict[str, list[str]] = {
    "metadata.google.internal": ["169.254.169.254"],
    "rebind.example.test": ["127.0.0.1"],
    "localtest.me": ["127.0.0.1"],
    "intranet.example.test": ["10.1.2.3"],
    "mixed.example.test": ["93.184.215.14", "127.0.0.1"],
    "v6only.example.test": ["::1"],
    "mapped.example.test": ["::ffff:127.0.0.1"],
}


def test_resolver(host: str, port: int) -> Sequence[str]:
    if host in FAKE_DNS:
        return FAKE_DNS[host]
    return system_resolver(host, port)


test_resolver.__test__ = False  # type: ignore[attr-defined]

CORPUS = [
    # loopback in every spelling
    "http://127.0.0.1:{port}/a.wav",
    "https://127.0.0.1:{port}/a.wav",
    "http://localhost:{port}/a.wav",
    "http://LOCALHOST:{port}/a.wav",
    "http://127.0.0.1.:{port}/a.wav",
    "http://2130706433:{port}/a.wav",  # decimal
    "http://0x7f000001:{port}/a.wav",  # hex
    "http://0x7f.0x0.0x0.0x1:{port}/a.wav",  # dotted hex
    "http://0177.0.0.1:{port}/a.wav",  # octal
    "http://0177.0.0.01:{port}/a.wav",
    "http://127.1:{port}/a.wav",  # short forms
    "http://127.0.1:{port}/a.wav",
    "http://[::1]:{port}/a.wav",
    "http://[0:0:0:0:0:0:0:1]:{port}/a.wav",
    "http://[::ffff:127.0.0.1]:{port}/a.wav",  # IPv4-mapped
    "http://[::ffff:7f00:1]:{port}/a.wav",
    "http://[::127.0.0.1]:{port}/a.wav",  # IPv4-compatible (deprecated)
    "http://[64:ff9b::7f00:1]:{port}/a.wav",  # NAT64 of loopback
    "http://[2002:7f00:1::1]:{port}/a.wav",  # 6to4 of loopback
    "http://user:secret@127.0.0.1:{port}/a.wav",
    "http://files.example.com@127.0.0.1:{port}/a.wav",
    "http://rebind.example.test:{port}/a.wav",  # a name that resolves to loopback
    "http://localtest.me:{port}/a.wav",
    "http://v6only.example.test:{port}/a.wav",
    "http://mapped.example.test:{port}/a.wav",
    "http://mixed.example.test:{port}/a.wav",  # one public and one loopback address
    # unspecified
    "http://0.0.0.0:{port}/a.wav",
    "http://0:{port}/a.wav",
    "http://[::]:{port}/a.wav",
    # cloud metadata and link-local
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 of the metadata address
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    # private, shared and reserved ranges
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://intranet.example.test/",
    "http://100.64.0.1/",
    "http://[fc00::1]/",
    "http://[fec0::1]/",
    "http://198.18.0.1/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    # multicast
    "http://224.0.0.1/",
    "http://239.255.255.250:1900/",
    "http://[ff02::1]/",
    # other schemes and malformed URLs
    "file:///etc/passwd",
    "gopher://127.0.0.1:{port}/_GET%20/",
    "ftp://127.0.0.1:{port}/a.wav",
    "dict://127.0.0.1:{port}/info",
    "ldap://127.0.0.1:{port}/",
    "redis://127.0.0.1:6379/",
    "jar:http://127.0.0.1:{port}/a.jar!/",
    "http:///a.wav",
    "//127.0.0.1:{port}/a.wav",
    "127.0.0.1:{port}/a.wav",
]


def test_the_corpus_has_at_least_thirty_urls() -> None:
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("template", CORPUS)
def test_corpus_url_is_refused_without_a_connection(template: str, loopback: Listener) -> None:
    url = template.format(port=loopback.port)
    settings = strict_settings()
    with ConnectLog() as connects:
        with pytest.raises(BlockedDestination) as refused:
            check_destination(url, settings=settings, resolver=test_resolver)
        with (
            pytest.raises(BlockedDestination),
            guarded_stream("GET", url, settings=settings, timeout=TIMEOUT, resolver=test_resolver),
        ):
            pass
    reason = refused.value.reason
    assert len(reason) > 20 and reason[0].isupper(), reason
    assert any(
        word in reason
        for word in ("address", "scheme", "not valid", "no host", "resolve", "tunnel")
    ), reason
    assert connects == [], f"{url} made connections: {connects}"
    time.sleep(0.05)
    assert loopback.accepted == [], f"{url} reached the listener"


def test_fetch_reports_a_refused_url_as_a_job_error(tmp_path: Path, loopback: Listener) -> None:
    with ConnectLog() as connects, pytest.raises(PipelineError) as failed:
        fetch_url(
            f"http://2130706433:{loopback.port}/a.wav",
            tmp_path / "input",
            settings=strict_settings(),
        )
    assert failed.value.code == "url_not_allowed"
    assert "loopback" in failed.value.message
    assert connects == [] and loopback.accepted == []


def test_reasons_say_what_is_wrong() -> None:
    settings = strict_settings()

    def reason(url: str) -> str:
        with pytest.raises(BlockedDestination) as refused:
            check_destination(url, settings=settings, resolver=test_resolver)
        return refused.value.reason

    assert "link-local" in reason("http://169.254.169.254/") and "metadata" in reason(
        "http://169.254.169.254/"
    )
    assert "IPv4-mapped" in reason("http://[::ffff:10.0.0.1]/")
    assert "NAT64" in reason("http://[64:ff9b::a00:1]/")
    assert "resolves to 10.1.2.3" in reason("http://intranet.example.test/")
    assert "'file' is not allowed" in reason("file:///etc/passwd")
    assert "could not be resolved" in reason("http://no-such-host.invalid/")


def test_public_addresses_and_allowed_ranges_pass() -> None:
    settings = strict_settings()
    for url in (
        "https://93.184.215.14/a.wav",
        "http://[2606:4700::6810:84e5]/a.wav",
        "http://[64:ff9b::5db8:d70e]/a.wav",  # NAT64 of a public address (DNS64 networks)
        "http://0x5db8d70e/a.wav",
    ):
        check_destination(url, settings=settings)
    allowed = strict_settings(allowed_private_networks=["10.0.0.0/8", "fd00::/8"])
    check_destination("http://10.1.2.3/", settings=allowed)
    check_destination("http://intranet.example.test/", settings=allowed, resolver=test_resolver)
    check_destination("http://[fd00::5]/", settings=allowed)
    with pytest.raises(BlockedDestination):
        check_destination("http://127.0.0.1/", settings=allowed)


def test_allowed_networks_setting_reads_a_cidr_list() -> None:
    settings = Settings(allowed_private_networks="127.0.0.0/8, fd00::/8")  # type: ignore[arg-type]
    assert settings.allowed_private_networks == [
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("fd00::/8"),
    ]
    with pytest.raises(ValueError):
        Settings(allowed_private_networks="10.0.0.1/8")  # type: ignore[arg-type]


# --- servers on an allowed address --------------------------------------------------------------

ALLOWED_HOST = "127.0.0.2"  # the only internal address these tests allow


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, Callable[[http.server.BaseHTTPRequestHandler], None]] = {}
    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        self.seen.append((self.path, self.headers.get("Host")))
        route = self.routes.get(self.path.split("?")[0])
        if route is None:
            self.send_error(404)
            return
        route(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Server:
    base: str
    port: int
    seen: list[tuple[str, str | None]]
    routes: dict[str, Callable[[http.server.BaseHTTPRequestHandler], None]]


@pytest.fixture()
def allowed_server() -> Iterator[Server]:
    """An HTTP server on 127.0.0.2, the one internal address the settings below allow."""
    handler = type("Handler", (_Handler,), {"routes": {}, "seen": []})
    try:
        server = http.server.ThreadingHTTPServer((ALLOWED_HOST, 0), handler)
    except OSError as exc:
        pytest.fail(f"cannot listen on {ALLOWED_HOST} (Linux routes all of 127/8 to lo): {exc}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    yield Server(f"http://{ALLOWED_HOST}:{port}", int(port), handler.seen, handler.routes)
    server.shutdown()
    server.server_close()


def _allowing(**overrides: Any) -> Settings:
    return strict_settings(allowed_private_networks=[f"{ALLOWED_HOST}/32"], **overrides)


def _redirect(location: str, status: int = 302) -> Callable[[Any], None]:
    def respond(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return respond


def _body(data: bytes, *, declared: int | None = None, drip: float = 0.0) -> Callable[[Any], None]:
    def respond(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "audio/wav")
        if declared != -1:  # -1: no Content-Length, the body ends when the connection closes
            h.send_header("Content-Length", str(declared if declared is not None else len(data)))
        h.end_headers()
        for start in range(0, len(data), 64 * 1024):
            try:
                h.wfile.write(data[start : start + 64 * 1024])
                h.wfile.flush()
            except OSError:
                return
            time.sleep(drip)

    return respond


REDIRECT_TARGETS = [
    "http://127.0.0.1:{port}/a.wav",
    "http://[::ffff:127.0.0.1]:{port}/a.wav",
    "http://2130706433:{port}/a.wav",
    "http://rebind.example.test:{port}/a.wav",
    "http://169.254.169.254/latest/meta-data/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:{port}/_",
]


@pytest.mark.parametrize("target", REDIRECT_TARGETS)
def test_a_redirect_to_a_forbidden_address_is_refused_before_connecting(
    target: str, allowed_server: Server, loopback: Listener
) -> None:
    location = target.format(port=loopback.port)
    allowed_server.routes["/start"] = _redirect(location)
    with ConnectLog() as connects:
        with (
            pytest.raises(BlockedDestination) as refused,
            guarded_stream(
                "GET",
                f"{allowed_server.base}/start",
                settings=_allowing(),
                timeout=TIMEOUT,
                follow_redirects=True,
                resolver=test_resolver,
            ),
        ):
            pass
    assert refused.value.reason.startswith("The URL redirected to "), refused.value.reason
    assert {c[0] for c in connects} == {ALLOWED_HOST}, connects
    assert loopback.accepted == []


def test_redirects_are_followed_hop_by_hop_and_capped(allowed_server: Server) -> None:
    audio = b"RIFF" + bytes(4000)
    allowed_server.routes["/a"] = _redirect("/b", 301)
    allowed_server.routes["/b"] = _redirect(f"{allowed_server.base}/file.wav", 307)
    allowed_server.routes["/file.wav"] = _body(audio)
    with guarded_stream(
        "GET",
        f"{allowed_server.base}/a",
        settings=_allowing(),
        timeout=TIMEOUT,
        follow_redirects=True,
    ) as response:
        assert response.status_code == 200 and response.read() == audio
    assert [p for p, _ in allowed_server.seen] == ["/a", "/b", "/file.wav"]

    allowed_server.routes["/loop"] = _redirect("/loop")
    with (
        pytest.raises(httpx.TooManyRedirects),
        guarded_stream(
            "GET",
            f"{allowed_server.base}/loop",
            settings=_allowing(),
            timeout=TIMEOUT,
            follow_redirects=True,
            max_redirects=3,
        ),
    ):
        pass
    # Without follow_redirects the redirect itself is the answer.
    with guarded_stream(
        "GET", f"{allowed_server.base}/a", settings=_allowing(), timeout=TIMEOUT
    ) as response:
        assert response.status_code == 301 and response.headers["location"] == "/b"


def test_the_connection_goes_to_the_checked_address_not_a_second_answer(
    allowed_server: Server, loopback: Listener
) -> None:
    """DNS rebinding: the first answer is allowed, every later answer is loopback."""
    answers: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        answer = ALLOWED_HOST if not answers else "127.0.0.1"
        answers.append(answer)
        return [answer]

    allowed_server.routes["/file.wav"] = _body(b"audio-bytes")
    url = f"http://rebinding.example.test:{allowed_server.port}/file.wav"
    with (
        ConnectLog() as connects,
        guarded_stream(
            "GET", url, settings=_allowing(), timeout=TIMEOUT, resolver=rebinding
        ) as response,
    ):
        body = response.read()
    assert body == b"audio-bytes"
    assert answers == [ALLOWED_HOST], "the name was resolved more than once"
    assert [c[0] for c in connects] == [ALLOWED_HOST]
    assert allowed_server.seen == [("/file.wav", f"rebinding.example.test:{allowed_server.port}")]
    assert loopback.accepted == []


# --- TLS: SNI and the certificate are checked against the original host name --------------------


@dataclass
class Tls:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


def _make_tls(name: str) -> Tls:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scribe test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return Tls(
        ca_pem=ca.public_bytes(pem),
        cert_pem=cert.public_bytes(pem),
        key_pem=key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


@pytest.fixture()
def tls_server(tmp_path: Path) -> Iterator[tuple[Server, Tls, list[str | None]]]:
    """An HTTPS server on 127.0.0.2 with a certificate for files.example.test; records SNI."""
    tls = _make_tls("files.example.test")
    (tmp_path / "cert.pem").write_bytes(tls.cert_pem)
    (tmp_path / "key.pem").write_bytes(tls.key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    sni: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: sni.append(name)  # type: ignore[assignment, func-returns-value]
    handler = type("Handler", (_Handler,), {"routes": {}, "seen": []})
    server = http.server.ThreadingHTTPServer((ALLOWED_HOST, 0), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = int(server.server_address[1])
    yield Server(f"https://{ALLOWED_HOST}:{port}", port, handler.seen, handler.routes), tls, sni
    server.shutdown()
    server.server_close()


def test_https_keeps_sni_and_certificate_checks_on_the_host_name(
    tls_server: tuple[Server, Tls, list[str | None]],
) -> None:
    server, tls, sni = tls_server
    server.routes["/file.wav"] = _body(b"over-tls")
    trust = ssl.create_default_context(cadata=tls.ca_pem.decode())

    def resolve(host: str, port: int) -> list[str]:
        return [ALLOWED_HOST]

    url = f"https://files.example.test:{server.port}/file.wav"
    with guarded_stream(
        "GET", url, settings=_allowing(), timeout=TIMEOUT, resolver=resolve, verify=trust
    ) as response:
        assert response.read() == b"over-tls"
    assert sni == ["files.example.test"]
    assert server.seen == [("/file.wav", f"files.example.test:{server.port}")]

    # The same server under another name: the certificate does not match, nothing is sent.
    wrong = f"https://other.example.test:{server.port}/file.wav"
    with (
        pytest.raises(httpx.ConnectError, match="certificate|hostname"),
        guarded_stream(
            "GET", wrong, settings=_allowing(), timeout=TIMEOUT, resolver=resolve, verify=trust
        ),
    ):
        pass
    assert len(server.seen) == 1


# --- the fetcher: size cap, deadline ------------------------------------------------------------


def test_fetch_streams_to_disk_and_caps_the_size(tmp_path: Path, allowed_server: Server) -> None:
    audio = bytes(range(256)) * 4096  # 1 MiB
    allowed_server.routes["/ok.wav"] = _body(audio)
    allowed_server.routes["/undeclared.wav"] = _body(audio, declared=-1)
    allowed_server.routes["/huge.wav"] = _body(b"", declared=10**12)
    settings = _allowing(max_upload_bytes=2 * 1024 * 1024)

    target = tmp_path / "ok"
    assert fetch_url(f"{allowed_server.base}/ok.wav", target, settings=settings) == len(audio)
    assert target.read_bytes() == audio

    small = _allowing(max_upload_bytes=256 * 1024)
    for path in ("/ok.wav", "/huge.wav", "/undeclared.wav"):
        with pytest.raises(PipelineError) as failed:
            fetch_url(f"{allowed_server.base}{path}", tmp_path / "x", settings=small)
        assert failed.value.code == "input_too_large", path


def test_fetch_gives_up_at_its_deadline(tmp_path: Path, allowed_server: Server) -> None:
    allowed_server.routes["/slow.wav"] = _body(bytes(64 * 1024 * 40), drip=0.1)
    settings = _allowing(url_fetch_timeout_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(PipelineError) as failed:
        fetch_url(f"{allowed_server.base}/slow.wav", tmp_path / "x", settings=settings)
    assert failed.value.code == "input_unavailable" and "longer than" in failed.value.message
    assert time.monotonic() - started < 3


def test_fetch_reports_http_errors_and_empty_bodies(tmp_path: Path, allowed_server: Server) -> None:
    allowed_server.routes["/empty.wav"] = _body(b"")
    with pytest.raises(PipelineError) as failed:
        fetch_url(f"{allowed_server.base}/missing.wav", tmp_path / "x", settings=_allowing())
    assert failed.value.code == "input_unavailable" and "404" in failed.value.message
    with pytest.raises(PipelineError) as failed:
        fetch_url(f"{allowed_server.base}/empty.wav", tmp_path / "x", settings=_allowing())
    assert failed.value.code == "empty_audio"


def test_a_host_that_does_not_resolve_has_its_own_code(tmp_path: Path) -> None:
    from app.inputs.sources import InputRefused, check_url_input

    def no_answer(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    settings = strict_settings()
    with pytest.raises(BlockedDestination) as refused:
        check_destination(
            "https://recordings.example.com/a.wav", settings=settings, resolver=no_answer
        )
    assert refused.value.code == "url_unresolvable"
    assert "could not be resolved" in refused.value.reason
    with pytest.raises(InputRefused) as at_intake:
        check_url_input("http://recordings.invalid/a.wav", settings=settings)
    assert at_intake.value.code == "url_unresolvable"
    with pytest.raises(PipelineError) as in_worker:
        fetch_url(
            "https://recordings.example.com/a.wav",
            tmp_path / "in",
            settings=settings,
            resolver=no_answer,
        )
    assert in_worker.value.code == "url_unresolvable"
    with pytest.raises(BlockedDestination) as private:
        check_destination("http://10.0.0.1/a.wav", settings=settings)
    assert private.value.code == "url_not_allowed"
