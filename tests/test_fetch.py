"""fetch_image against a local HTTP server that misbehaves in each way the module guards against."""

import io
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from PIL import Image

from nbdetect.utils.fetch import FetchError, fetch_image

TIMEOUT = 0.5  # fetch_image's total deadline is then 1.5 s.
MAX_BYTES = 1_000_000
LIMITS = {"timeout": TIMEOUT, "max_bytes": MAX_BYTES}
SLOW_SECONDS = 2.0  # > TIMEOUT: /slow.jpg answers only after this.
TRICKLE_SECONDS = 5.0  # > the total deadline: the trickling handlers give up after this.
ENDLESS_BYTES = 50 * 2**20

_rng = np.random.default_rng(0)
RGB = _rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
RGBA = _rng.integers(0, 256, (10, 7, 4), dtype=np.uint8)
GREY = _rng.integers(0, 256, (9, 11), dtype=np.uint8)
# A smooth picture, so JPEG's error stays small and a tolerance can catch a wrong decode.
_y, _x = np.mgrid[0:32, 0:48]
SMOOTH = np.stack([_x * 5, _y * 7, 255 - _x * 3], axis=-1).astype(np.uint8)
PALETTE = Image.fromarray(RGB).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)


def _encode(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


PNG = _encode(Image.fromarray(RGB), "PNG")
FILES = {
    "/image.png": ("image/png", PNG),
    "/café.png": ("image/png", PNG),
    "/photo.jpg": ("image/jpeg", _encode(Image.fromarray(SMOOTH), "JPEG", quality=95)),
    "/rgba.png": ("image/png", _encode(Image.fromarray(RGBA), "PNG")),
    "/grey.png": ("image/png", _encode(Image.fromarray(GREY), "PNG")),
    "/palette.png": ("image/png", _encode(PALETTE, "PNG")),
    "/page.jpg": ("image/jpeg", b"<!DOCTYPE html><html><body>A cat</body></html>"),
    "/empty.jpg": ("image/jpeg", b""),
    "/corrupt.png": ("image/png", PNG[:60]),
}
REDIRECTS = {
    "/redirect": "/image.png",
    "/loop": "/loop",
    "/to_file": "file:///etc/passwd",
    "/chain/1": "/image.png",
    "/chain/2": "/chain/1",
    "/chain/3": "http://127.0.0.1:{port}/chain/2",  # absolute Location, same server
}


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.0: every response ends by closing the connection, so bodies need no length."""

    stats = {}  # request path and query -> bytes written, when a streaming handler ends
    finished = {}  # request path and query -> threading.Event

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = unquote(urlsplit(self.path).path)
        if path in FILES:
            content_type, body = FILES[path]
            self._head(200, content_type, len(body))
            self.wfile.write(body)
        elif path in REDIRECTS:
            self.send_response(302)
            self.send_header("Location", REDIRECTS[path].format(port=self.server.server_port))
            self.end_headers()
        elif path == "/missing.jpg":
            self.send_error(404)
        elif path == "/error.jpg":
            self.send_error(500)
        elif path == "/slow.jpg":
            time.sleep(SLOW_SECONDS)
            self._head(200, "image/png", len(PNG))
            self.wfile.write(PNG)
        elif path == "/big.jpg":
            self._head(200, "image/jpeg", 10 * MAX_BYTES)
            self.wfile.write(b"\xff\xd8" + bytes(1000))
        elif path == "/truncated.png":
            self._head(200, "image/png", len(PNG) + 1000)
            self.wfile.write(PNG)
        elif path == "/trickle.jpg":
            self._head(200, "image/jpeg")
            self._stream(b"\xff", 0.2, TRICKLE_SECONDS)
        elif path == "/trickle_headers.jpg":
            self.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
            self._stream(b"a", 0.2, TRICKLE_SECONDS)
        elif path == "/endless.jpg":
            self._head(200, "image/jpeg")
            self._stream(bytes(64 * 2**10), 0.0, 60.0, max_bytes=ENDLESS_BYTES)
        else:
            self.send_error(400, f"test server has no {path}")

    def _head(self, code, content_type, length=None):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _stream(self, chunk, pause, seconds, max_bytes=None):
        """Write `chunk` until the client leaves, `seconds` pass or `max_bytes` are sent."""
        sent, stop = 0, time.monotonic() + seconds
        try:
            while time.monotonic() < stop and (max_bytes is None or sent < max_bytes):
                self.wfile.write(chunk)
                self.wfile.flush()
                sent += len(chunk)
                time.sleep(pause)
        except OSError:  # the client hung up: what fetch_image is meant to do
            pass
        finally:
            self.stats[self.path] = sent
            self.finished.setdefault(self.path, threading.Event()).set()


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = _serve(httpd)
    yield f"http://127.0.0.1:{httpd.server_port}"
    _stop(httpd, thread)


def _serve(httpd):
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    return thread


def _stop(httpd, thread):
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """The same server over HTTPS, with a self-signed certificate for 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + [
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = _serve(httpd)
    yield f"https://127.0.0.1:{httpd.server_port}", cert
    _stop(httpd, thread)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    # A proxy from the environment would be asked for 127.0.0.1.
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Images ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/image.png", RGB),
        ("/rgba.png", RGBA[..., :3]),
        ("/grey.png", np.repeat(GREY[..., None], 3, axis=-1)),
        ("/palette.png", np.asarray(PALETTE.convert("RGB"))),
        ("/redirect", RGB),
        ("/chain/3", RGB),
        ("/café.png", RGB),
    ],
)
def test_fetches_image_as_rgb_uint8(server, path, expected):
    image = fetch_image(server + path, **LIMITS)
    assert image.dtype == np.uint8
    assert image.shape == expected.shape
    np.testing.assert_array_equal(image, expected)


def test_fetches_jpeg_within_tolerance(server):
    image = fetch_image(server + "/photo.jpg", **LIMITS)
    assert image.dtype == np.uint8 and image.shape == SMOOTH.shape
    error = np.abs(image.astype(int) - SMOOTH)
    assert error.mean() < 2 and error.max() <= 16


def test_returns_writable_array(server):
    image = fetch_image(server + "/image.png", **LIMITS)
    image[0, 0] = 0  # callers draw on it


def test_follows_exactly_max_redirects(server):
    np.testing.assert_array_equal(fetch_image(server + "/chain/3", max_redirects=3), RGB)
    with pytest.raises(FetchError, match=r"more than max_redirects=2 times \(the next one"):
        fetch_image(server + "/chain/3", max_redirects=2)
    with pytest.raises(FetchError, match="more than max_redirects=0 times"):
        fetch_image(server + "/redirect", max_redirects=0)


# Failures ----------------------------------------------------------------------------------------

FAILURES = [
    # (path, message fragment)
    ("/missing.jpg", "answered HTTP 404 Not Found; check the URL for typos"),
    ("/error.jpg", "answered HTTP 500 Internal Server Error; try again later"),
    ("/page.jpg", "is not an image: Pillow cannot read its 46 bytes (the server called it "),
    ("/empty.jpg", "is not an image: the server sent an empty body"),
    ("/corrupt.png", "could not be decoded as an image"),
    ("/truncated.png", f"the connection closed after {len(PNG):,} of {len(PNG) + 1000:,} bytes"),
    ("/big.jpg", "is larger than the 1,000,000 bytes limit (its Content-Length is 9.5 MiB)"),
    ("/endless.jpg", "is larger than the 1,000,000 bytes limit (more than that arrived)"),
    ("/slow.jpg", "Timed out fetching"),
    ("/trickle.jpg", "the download took longer than 1.5 s (3 x timeout=0.5)"),
    ("/trickle_headers.jpg", "the download took longer than 1.5 s"),
    ("/loop", "redirected more than max_redirects=5 times (the server redirects in a loop"),
    ("/to_file", "redirected to 'file:///etc/passwd', which is not an http(s) URL; refusing"),
]


@pytest.mark.parametrize("path, fragment", FAILURES, ids=[path for path, _ in FAILURES])
def test_failure_is_one_line_fetch_error(server, path, fragment):
    start = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch_image(server + path, **LIMITS)
    message = str(caught.value)
    assert fragment in message
    assert server + path in message
    assert "\n" not in message
    # No "During handling of the above exception..." chain from urllib under the message.
    error = caught.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    assert time.monotonic() - start < 10


def test_html_page_message_names_claimed_type_and_first_bytes(server):
    with pytest.raises(FetchError) as caught:
        fetch_image(server + "/page.jpg", **LIMITS)
    message = str(caught.value)
    assert "'image/jpeg'" in message
    assert "b'<!DOCTYPE html>" in message
    assert "looks like a web page" in message


def test_slow_server_times_out_after_timeout(server):
    with pytest.raises(FetchError, match=r"no answer within timeout=0.5 s; pass a larger timeout="):
        fetch_image(server + "/slow.jpg", **LIMITS)


def test_size_cap_message_says_how_to_change_it(server):
    with pytest.raises(FetchError, match=r"download it and pass its file path, or pass a larger"):
        fetch_image(server + "/big.jpg", **LIMITS)


def test_endless_body_is_abandoned_at_the_cap(server):
    request = "/endless.jpg?run=cap"  # its own key in Handler.stats
    finished = Handler.finished.setdefault(request, threading.Event())
    with pytest.raises(FetchError, match="limit"):
        fetch_image(server + request, **LIMITS)
    # The server stops when fetch_image hangs up; what it wrote past the cap sat in buffers.
    assert finished.wait(10)
    assert Handler.stats[request] < ENDLESS_BYTES


def test_redirect_message_names_both_urls(server):
    with pytest.raises(FetchError) as caught:
        fetch_image(server + "/redirect", max_bytes=10)
    assert f"{server}/image.png (redirected from {server}/redirect)" in str(caught.value)


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("ftp://example.com/cat.jpg", "only http:// and https:// URLs are supported, got the "),
        ("file:///etc/passwd", "got the scheme 'file://'"),
        ("example.com/cat.jpg", "got no scheme"),
        ("http:///cat.jpg", "the URL has no host name"),
        ("http://example.com:port/cat.jpg", "Port could not be cast"),
    ],
)
def test_rejects_url_before_connecting(url, fragment):
    with pytest.raises(FetchError, match="^Cannot fetch") as caught:
        fetch_image(url)
    assert fragment in str(caught.value)


def test_refused_connection_says_unreachable():
    url = f"http://127.0.0.1:{_closed_port()}/cat.jpg"
    with pytest.raises(FetchError) as caught:
        fetch_image(url, **LIMITS)
    message = str(caught.value)
    assert message.startswith(f"Could not reach {url}: the connection was refused")
    assert "download the image elsewhere and pass its file path" in message


def test_unresolvable_host_says_unreachable(monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # What an offline machine answers; a real resolver here might wait for its own timeout.
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(FetchError, match=r"^Could not reach http://nbdetect-test\.invalid/"):
        fetch_image("http://nbdetect-test.invalid/cat.jpg", **LIMITS)


def test_non_string_url_is_fetch_error():
    with pytest.raises(FetchError, match="expected a URL string"):
        fetch_image(b"http://example.com/cat.jpg")


@pytest.mark.parametrize(
    "limits, fragment",
    [
        ({"timeout": 0}, "timeout=0"),
        ({"max_bytes": 0}, "max_bytes=0"),
        ({"max_bytes": 1.5}, "max_bytes=1.5"),
        ({"max_redirects": -1}, "max_redirects=-1"),
    ],
)
def test_bad_limits_are_value_errors(limits, fragment):
    with pytest.raises(ValueError, match=fragment) as caught:
        fetch_image("http://127.0.0.1/cat.jpg", **limits)
    assert not isinstance(caught.value, FetchError)


# HTTPS -------------------------------------------------------------------------------------------


def test_https_refuses_untrusted_certificate(tls_server):
    url = tls_server[0] + "/image.png"
    with pytest.raises(FetchError, match=r"its TLS certificate cannot be verified \(self.signed"):
        fetch_image(url, **LIMITS)


def test_https_fetches_image_and_keeps_deadline(tls_server, monkeypatch):
    server, cert = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate
    np.testing.assert_array_equal(fetch_image(server + "/redirect", **LIMITS), RGB)
    with pytest.raises(FetchError, match="the download took longer than 1.5 s"):
        fetch_image(server + "/trickle.jpg", **LIMITS)
