"""Who is asking, as the server decides it: visitor tokens the server signs, and the client's address.

    a page opens -> ``Visitors.arrive(token, legacy, address)``:
        a token the server signed (HMAC-SHA256)      -> the visitor it names
        else an old browser's encrypted token (once) -> the same visitor, in a newly signed token
        else                                         -> a new anonymous visitor (at most N a day per address)
    every handler -> ``Visitors.visitor(token)``: the visitor a signed token names, else None (the caller is then
                     their session: a new anonymous visitor, never the one a forged token names)

The signing secret (STUDIO_SECRET, else the data dir's ``browser_secret``) is read here, on the server, and never
leaves it: not a component property, not in ``/config``, not in the page. The browser keeps the signed token (in
localStorage); a made-up or altered token fails the signature.

The address is the direct peer's; ``X-Forwarded-For`` is believed only when that peer is one of the configured
proxies (STUDIO_TRUSTED_PROXIES), and then its rightmost address that is not a proxy is the client's. Spend caps
count anonymous visitors per visitor and per address; a signed-in Hugging Face account is counted by account.

What this does not stop: one person with many addresses (each address has its own caps), or many people behind one
address (they share its caps).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from studio.errors import FieldIssue, InvalidInput
from studio.history import HistoryStore
from studio.i18n import Msg

BROWSER = "browser:"  # a browser's visitor key in history: "browser:<id>" (the same for old and new tokens)
_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SIGNED = re.compile(r"([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{43})")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class NewVisitorRefused(InvalidInput):
    """Too many new visitors from one address today."""


@dataclass(frozen=True)
class Signer:
    """Signs and checks visitor tokens: ``<id>.<HMAC-SHA256 of the id>``. The secret stays on the server."""

    secret: str = field(repr=False)

    def _mac(self, visitor_id: str) -> str:
        key = hashlib.sha256(b"runway-studio visitor token\0" + self.secret.encode()).digest()
        digest = hmac.new(key, visitor_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, visitor_id: str) -> str:
        if not _ID.fullmatch(visitor_id):
            raise ValueError("a visitor id is 16-64 characters of A-Z a-z 0-9 _ -")
        return f"{visitor_id}.{self._mac(visitor_id)}"

    def visitor(self, token: object) -> str | None:
        """The visitor key a token names when the server signed it; None for anything else."""
        found = _SIGNED.fullmatch(token) if isinstance(token, str) else None
        if not found or not hmac.compare_digest(found[2], self._mac(found[1])):
            return None
        return BROWSER + found[1]

    def legacy(self, blob: object) -> str | None:
        """The visitor key of an old browser's token: ``gr.BrowserState(secret=...)`` kept it in localStorage
        encrypted (CryptoJS AES with a passphrase, the hex SHA-256 of the secret, in "<iv>:<OpenSSL salted>").
        None when it does not decrypt with this secret."""
        if not isinstance(blob, str) or ":" not in blob or len(blob) > 512:
            return None
        try:
            token = json.loads(
                _cryptojs_decrypt(blob.split(":", 1)[1], hashlib.sha256(self.secret.encode()).hexdigest())
            )
        except (ValueError, TypeError):
            return None
        return BROWSER + token if isinstance(token, str) and _ID.fullmatch(token) else None


def _cryptojs_decrypt(salted: str, passphrase: str) -> str:
    """CryptoJS.AES.decrypt(salted, passphrase): OpenSSL's "Salted__" format, EVP_BytesToKey (MD5), AES-256-CBC."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    raw = base64.b64decode(salted, validate=True)
    if len(raw) < 32 or raw[:8] != b"Salted__" or len(raw) % 16:
        raise ValueError("not a salted ciphertext")
    salt, body, derived, block = raw[8:16], raw[16:], b"", b""
    while len(derived) < 48:
        block = hashlib.md5(block + passphrase.encode() + salt).digest()
        derived += block
    decryptor = Cipher(algorithms.AES(derived[:32]), modes.CBC(derived[32:48])).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(decryptor.update(body) + decryptor.finalize()) + unpadder.finalize()).decode()


def networks(names: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(name, strict=False) for name in names)


def client_address(peer: str | None, forwarded: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: the direct peer's, unless the peer is a trusted proxy; then the rightmost address in
    ``X-Forwarded-For`` that is not itself a trusted proxy."""
    address = peer or "unknown"
    if not forwarded or not _within(address, trusted):
        return address
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if not _within(hop, trusted):
            return hop if _parses(hop) else address
        address = hop
    return address


def _parses(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _within(text: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


class Visitors:
    """Issues and checks visitor tokens, and counts new visitors per address (in history: survives restarts)."""

    def __init__(
        self,
        signer: Signer,
        history: HistoryStore,
        *,
        trusted_proxies: Iterable[str] = (),
        new_per_address_daily: int = 20,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        self.signer = signer
        self._history = history
        self.trusted = networks(trusted_proxies)
        self.new_per_address_daily = new_per_address_daily
        self._now = wall_clock or (lambda: dt.datetime.now(dt.timezone.utc).timestamp())

    def visitor(self, token: object) -> str | None:
        return self.signer.visitor(token)

    def address(self, peer: str | None, forwarded: str | None) -> str:
        return client_address(peer, forwarded, self.trusted)

    async def arrive(self, token: object, legacy: object, *, address: str) -> str:
        """The signed token for whoever opened the page: theirs when it is signed, a newly signed one naming the
        same visitor for an old browser's token (of a visitor with history here), else a new visitor's.

        Raises NewVisitorRefused when ``address`` had its new visitors for today."""
        if self.visitor(token):
            return str(token)
        old = self.signer.legacy(legacy)
        known: bool = old is not None and await self._history.run(self._history.knows_visitor, old)
        if old is not None and known:
            return self.signer.sign(old.removeprefix(BROWSER))
        day = dt.datetime.fromtimestamp(self._now(), tz=dt.timezone.utc)
        start = day.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        made = await self._history.run(self._history.new_visitors_since, start, address=address)
        if made >= self.new_per_address_daily:
            raise NewVisitorRefused(
                FieldIssue("Visitor", Msg("identity.new_visitors", most=self.new_per_address_daily))
            )
        visitor_id = secrets.token_urlsafe(24)
        await self._history.run(self._history.add_visitor, BROWSER + visitor_id, address=address)
        return self.signer.sign(visitor_id)
