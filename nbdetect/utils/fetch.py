"""Download one image from an http(s) URL, with limits on time, size and redirects.

`fetch_image` is what `%detect https://...` calls, so it is written for people at a notebook:
every failure is a `FetchError` whose message is one line naming the URL, what went wrong and
what to do about it. Only the standard library's `urllib` is used (no `requests`), with three
guards it does not have by itself:

- a total deadline (`_TOTAL_TIMEOUT_FACTOR * timeout`) checked before every read from the
  socket, headers included, so a server that trickles bytes cannot hold the notebook;
- a size cap, checked against `Content-Length` before the body is read and again while it
  streams, so an endless body is never read past `max_bytes`;
- redirects followed by hand, counted, and refused when they leave http(s).
"""

from __future__ import annotations

import functools
import http.client
import io
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import numpy as np

# The whole download (every redirect, headers and body) must finish within this many times
# `timeout`; `timeout` alone bounds one wait for data, which a trickling server never hits.
_TOTAL_TIMEOUT_FACTOR = 3
_CHUNK_BYTES = 64 * 2**10
_REDIRECT_CODES = (301, 302, 303, 307, 308)
_SCHEMES = ("http", "https")
# Some hosts (Wikimedia, for one) refuse urllib's default "Python-urllib/3.x" agent.
_HEADERS = {"User-Agent": "nbdetect-fetch-image/1 (Python urllib)", "Accept": "image/*,*/*;q=0.5"}
_OFFLINE_HINT = "if this machine is offline, download the image elsewhere and pass its file path"


class FetchError(ValueError):
    """An image could not be fetched from a URL; the message says why and what to do."""


def fetch_image(
    url: str,
    *,
    max_bytes: int = 20 * 2**20,
    timeout: float = 10.0,
    max_redirects: int = 5,
) -> np.ndarray:
    """Download the image at an http(s) URL and decode it to RGB.

    The bytes must decode as an image (PNG, JPEG, GIF, WebP, ... whatever Pillow reads); the
    server's `Content-Type` and the URL's extension are not trusted. Palette, greyscale and
    RGBA images are converted to RGB (alpha is dropped). EXIF orientation is not applied, the
    same as for image files read from disk.

    Args:
        url: an `http://` or `https://` URL.
        max_bytes: the largest download accepted, in bytes (20 MiB by default). A larger
            `Content-Length` fails before the body is read; a body without one is read in
            chunks and abandoned as soon as it passes the limit.
        timeout: seconds to wait for the connection and for each piece of data. The whole
            download, redirects included, must also finish within `3 * timeout` seconds.
        max_redirects: how many redirects to follow; 0 follows none.

    Returns:
        The image as a `[height, width, 3]` uint8 RGB array.

    Raises:
        FetchError: the URL is not http(s), cannot be reached, answers with an HTTP error,
            redirects too often or to another scheme, is too slow or too large, or does not
            hold an image. `FetchError` is a `ValueError`.
        ValueError: `max_bytes` or `timeout` is not positive, or `max_redirects` is negative.

    Example:
        >>> image = fetch_image("https://example.com/cat.jpg", timeout=5)  # doctest: +SKIP
        >>> image.shape, image.dtype  # doctest: +SKIP
        ((480, 640, 3), dtype('uint8'))
    """
    _check_limits(max_bytes, timeout, max_redirects)
    data, final_url, content_type = _download(url, max_bytes, timeout, max_redirects)
    return _decode(data, _where(final_url, url), content_type)


def _check_limits(max_bytes: int, timeout: float, max_redirects: int) -> None:
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValueError(f"fetch_image() got max_bytes={max_bytes!r}; expected a positive int.")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"fetch_image() got timeout={timeout!r}; expected seconds > 0.")
    if isinstance(max_redirects, bool) or not isinstance(max_redirects, int) or max_redirects < 0:
        raise ValueError(
            f"fetch_image() got max_redirects={max_redirects!r}; expected an int >= 0."
        )


def _download(
    url: str, max_bytes: int, timeout: float, max_redirects: int
) -> tuple[bytes, str, str | None]:
    """The body, the URL it finally came from and its claimed Content-Type."""
    deadline = time.monotonic() + _TOTAL_TIMEOUT_FACTOR * timeout
    opener = _opener(deadline)
    current = _checked_url(url, url)
    visited = [current]
    while True:
        got = _get(opener, current, _where(current, url), max_bytes, timeout, deadline)
        if not isinstance(got, str):
            return got[0], current, got[1]
        target = _checked_url(urllib.parse.urljoin(current, got), url, redirected_from=current)
        if len(visited) > max_redirects:
            raise _too_many_redirects(url, visited, target, max_redirects)
        current = target
        visited.append(current)


def _get(
    opener: urllib.request.OpenerDirector,
    url: str,
    where: str,
    max_bytes: int,
    timeout: float,
    deadline: float,
) -> tuple[bytes, str | None] | str:
    """One GET: the body and its claimed Content-Type, or a redirect's Location."""
    try:
        request = urllib.request.Request(url, headers=_HEADERS)
        with opener.open(request, timeout=timeout) as response:
            return _read_body(response, where, max_bytes), response.headers.get("Content-Type")
    except urllib.error.HTTPError as error:
        with error:
            location = error.headers.get("Location") if error.headers else None
        if error.code in _REDIRECT_CODES and location:
            return location
        raise _http_error(error, where) from None
    except FetchError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise _network_error(error, where, timeout, deadline) from None


def _checked_url(url: Any, original: str, redirected_from: str | None = None) -> str:
    """`url` as ASCII, after checking it is an http(s) URL with a host."""
    if not isinstance(url, str):
        raise FetchError(
            f"fetch_image() got {type(url).__name__} {url!r}; expected a URL string such as "
            "'https://example.com/image.jpg'."
        )
    parts = urllib.parse.urlsplit(url.strip())
    if redirected_from is not None and parts.scheme.lower() not in _SCHEMES:
        raise FetchError(
            f"{_where(redirected_from, original)} redirected to {url!r}, which is not an "
            "http(s) URL; refusing to follow it. Download the image yourself and pass its path."
        )
    if parts.scheme.lower() not in _SCHEMES:
        got = f"the scheme {parts.scheme + '://'!r}" if parts.scheme else "no scheme"
        raise FetchError(
            f"Cannot fetch {url!r}: only http:// and https:// URLs are supported, got {got}. "
            "Pass an http(s) URL, or download the file and pass its local path."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as error:
        raise FetchError(f"Cannot fetch {url!r}: {error}. Check the URL.") from None
    if not parts.hostname:
        raise FetchError(f"Cannot fetch {url!r}: the URL has no host name. Check the URL.")
    return _ascii_url(parts)


def _ascii_url(parts: urllib.parse.SplitResult) -> str:
    """Percent-encode non-ASCII paths and IDNA-encode host names, as a browser does."""
    netloc = parts.netloc
    if not netloc.isascii():
        host = parts.hostname.encode("idna").decode("ascii")
        port = f":{parts.port}" if parts.port else ""
        netloc = f"[{host}]{port}" if ":" in host else f"{host}{port}"
    safe = "/%:@!$&'()*+,;=?~"
    return urllib.parse.urlunsplit(
        (
            parts.scheme.lower(),
            netloc,
            urllib.parse.quote(parts.path, safe=safe),
            urllib.parse.quote(parts.query, safe=safe),
            "",
        )
    )


def _read_body(response: http.client.HTTPResponse, where: str, max_bytes: int) -> bytes:
    length = (response.headers.get("Content-Length") or "").strip()
    expected = int(length) if length.isdigit() else None
    if expected is not None and expected > max_bytes:
        raise _too_large(where, max_bytes, f"its Content-Length is {_size(expected)}")
    chunks, received = [], 0
    while True:
        chunk = response.read(min(_CHUNK_BYTES, max_bytes + 1 - received))
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
        if received > max_bytes:
            raise _too_large(where, max_bytes, "more than that arrived")
    # http.client's read(amt) returns short at a closed connection instead of raising.
    if expected is not None and received < expected:
        raise http.client.IncompleteRead(b"".join(chunks), expected - received)
    return b"".join(chunks)


def _decode(data: bytes, where: str, content_type: str | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    claimed = f"the server called it {content_type!r}" if content_type else "no Content-Type"
    if not data:
        raise FetchError(
            f"{where} is not an image: the server sent an empty body ({claimed}). "
            "Check the URL in a browser."
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            rgb = image.convert("RGB")
    except UnidentifiedImageError:
        hint = (
            "it looks like a web page; use the address of the image itself (in a browser: "
            "right-click the image, 'Copy image address')"
            if data.lstrip()[:1] == b"<"
            else "check that the URL points to an image file"
        )
        raise FetchError(
            f"{where} is not an image: Pillow cannot read its {_size(len(data))} "
            f"({claimed}; it starts with {data[:24]!r}); {hint}."
        ) from None
    except Image.DecompressionBombError as error:
        raise FetchError(f"{where} has too many pixels to decode safely: {error}") from None
    except Exception as error:  # Pillow raises many types for broken files.
        raise FetchError(
            f"{where} could not be decoded as an image ({type(error).__name__}: {error}); "
            "the file may be truncated or corrupt. Try opening it in a browser."
        ) from None
    return np.array(rgb, dtype=np.uint8)


# Errors -----------------------------------------------------------------------------------------


def _where(current: str, original: str) -> str:
    return current if current == original else f"{current} (redirected from {original})"


def _size(num_bytes: int) -> str:
    return f"{num_bytes:,} bytes" if num_bytes < 2**20 else f"{num_bytes / 2**20:.1f} MiB"


def _too_large(where: str, max_bytes: int, found: str) -> FetchError:
    return FetchError(
        f"{where} is larger than the {_size(max_bytes)} limit ({found}); download it and "
        "pass its file path, or pass a larger max_bytes= to fetch_image()."
    )


def _too_many_redirects(
    url: str, visited: list[str], target: str, max_redirects: int
) -> FetchError:
    if target in visited:
        why = f"the server redirects in a loop, back to {target}"
    else:
        why = f"the next one was to {target}"
    return FetchError(
        f"{url} redirected more than max_redirects={max_redirects} times ({why}); open it in "
        "a browser to find the image's final address and pass that, or raise max_redirects=."
    )


def _http_error(error: urllib.error.HTTPError, where: str) -> FetchError:
    hints = {
        401: "the image needs a login; download it yourself and pass its file path",
        403: "the server refuses access; download the image yourself and pass its file path",
        404: "check the URL for typos",
        410: "the image has been removed",
        429: "too many requests; wait a little and try again",
    }
    if error.code in _REDIRECT_CODES:
        hint = "the redirect has no Location header; check the URL in a browser"
    elif error.code in hints:
        hint = hints[error.code]
    else:
        hint = "try again later" if error.code >= 500 else "check the URL in a browser"
    return FetchError(f"{where} answered HTTP {error.code} {error.reason}; {hint}.")


def _network_error(error: Exception, where: str, timeout: float, deadline: float) -> FetchError:
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, _DeadlineExceeded) or (
        isinstance(reason, TimeoutError) and time.monotonic() >= deadline
    ):
        total = _TOTAL_TIMEOUT_FACTOR * timeout
        return FetchError(
            f"Timed out fetching {where}: the download took longer than {total:g} s "
            f"({_TOTAL_TIMEOUT_FACTOR} x timeout={timeout:g}); pass a larger timeout=, or "
            "download the image and pass its file path."
        )
    if isinstance(reason, TimeoutError):
        return FetchError(
            f"Timed out fetching {where}: no answer within timeout={timeout:g} s; pass a "
            f"larger timeout=, or {_OFFLINE_HINT}."
        )
    if isinstance(reason, ssl.SSLCertVerificationError):
        return FetchError(
            f"Could not fetch {where}: its TLS certificate cannot be verified "
            f"({reason.verify_message}); download the image in a browser and pass its file path."
        )
    if isinstance(reason, socket.gaierror):
        return FetchError(
            f"Could not reach {where}: the host name does not resolve ({reason.strerror}); check "
            f"the URL, or {_OFFLINE_HINT}."
        )
    if isinstance(reason, ConnectionRefusedError):
        return FetchError(
            f"Could not reach {where}: the connection was refused; check the URL and port, "
            f"or {_OFFLINE_HINT}."
        )
    if isinstance(reason, http.client.IncompleteRead):
        return FetchError(
            f"Could not fetch {where}: the connection closed after {len(reason.partial):,} of "
            f"{len(reason.partial) + reason.expected:,} bytes; try again."
        )
    if isinstance(reason, (http.client.InvalidURL, ValueError)):
        return FetchError(f"Cannot fetch {where}: not a valid URL ({reason}). Check the URL.")
    if isinstance(reason, (http.client.HTTPException, ConnectionError)):
        return FetchError(
            f"Could not fetch {where}: the connection broke or the answer was not valid HTTP "
            f"({type(reason).__name__}: {reason}); try again, or {_OFFLINE_HINT}."
        )
    return FetchError(
        f"Could not reach {where} ({type(reason).__name__}: {reason}); {_OFFLINE_HINT}."
    )


# Deadline ---------------------------------------------------------------------------------------


class _DeadlineExceeded(TimeoutError):
    """The total time for one `fetch_image` call ran out."""


class _DeadlineReader(io.RawIOBase):
    """A response's socket reader that gives up once a wall-clock deadline passes.

    Each read waits at most `min(timeout, time left)`, so headers and body both stop at the
    deadline however slowly the server sends them.
    """

    def __init__(self, inner: io.BufferedReader, sock: socket.socket, deadline: float):
        super().__init__()
        self._inner, self._sock, self._deadline = inner, sock, deadline
        self._timeout = sock.gettimeout()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise _DeadlineExceeded("deadline passed")
        self._sock.settimeout(left if self._timeout is None else min(self._timeout, left))
        return self._inner.readinto1(buffer)

    def close(self) -> None:
        self._inner.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, deadline: float, **kwargs: Any):
        super().__init__(sock, *args, **kwargs)
        # Wrapping (not replacing) the socket file keeps its reference to the socket, which
        # http.client relies on to keep the socket open until the body is read.
        self.fp = io.BufferedReader(_DeadlineReader(self.fp, sock, deadline))


class _DeadlineConnection:
    def __init__(self, *args: Any, deadline: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.response_class = functools.partial(_DeadlineResponse, deadline=deadline)


class _HTTPConnection(_DeadlineConnection, http.client.HTTPConnection):
    """An HTTP connection whose responses stop at the deadline."""


class _HTTPSConnection(_DeadlineConnection, http.client.HTTPSConnection):
    """An HTTPS connection whose responses stop at the deadline."""


class _DeadlineHandler:
    _CONNECTIONS = {
        http.client.HTTPConnection: _HTTPConnection,
        http.client.HTTPSConnection: _HTTPSConnection,
    }

    def __init__(self, deadline: float):
        super().__init__()
        self._deadline = deadline

    def do_open(self, http_class: type, req: urllib.request.Request, **kwargs: Any) -> Any:
        connection = functools.partial(self._CONNECTIONS[http_class], deadline=self._deadline)
        return super().do_open(connection, req, **kwargs)


class _HTTPHandler(_DeadlineHandler, urllib.request.HTTPHandler):
    """urllib's http: handler, opening deadline-bound connections."""


class _HTTPSHandler(_DeadlineHandler, urllib.request.HTTPSHandler):
    """urllib's https: handler, opening deadline-bound connections."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hand redirects back as `HTTPError`s, so `_download` can count and check them."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener(deadline: float) -> urllib.request.OpenerDirector:
    """An opener for http(s) only (no file:, ftp: or data: handlers), honouring *_proxy."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        _HTTPHandler(deadline),
        _HTTPSHandler(deadline),
        _NoRedirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener
