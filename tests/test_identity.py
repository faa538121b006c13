"""Identity on a public studio: the token that names a visitor is signed by the server with a secret that never
leaves it; a token the server did not sign is a new anonymous visitor; caps count per visitor and per client
address (X-Forwarded-For only from trusted proxies); new visitors per address are capped; and an old browser keeps
its history across the change."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from studio.history import NewGeneration
from studio.identity import Signer, client_address, networks
from studio.simulator.app import create_app
from studio.simulator.config import SimulatorConfig
from studio.wiring import browser_secret
from tests.appclient import I2V, args_for, latest
from tests.conftest import ASSETS, LaunchedStudio, serve
from tests.fakes import ServerThread

SERVER_KEY = "sk-host-FAKE-0001"
STUDIO_SECRET = "the-host-secret-9f3c1e7a-never-published"

# What Gradio's own BrowserState (CryptoJS in Chromium) kept in localStorage for the token
# "Kx3_legacy-token-AbCdEfGhIjKlMnOpQr" with secret "legacy-secret-for-vector": the scheme before signed tokens.
CRYPTOJS_VECTOR = (
    "8bYBQVarGps334Is7xN/OQ==:U2FsdGVkX1+liz0wJ6UI/nLDGgwrrPTmP3lVEYLiI49ztct2Dj1mnteTJVfQWXIsyxSfIW7WMtZ2y5NSlPPIsg=="
)


def old_browser_blob(token: str, secret: str) -> str:
    """What an old page's BrowserState kept for ``token`` (the format of CRYPTOJS_VECTOR, checked against it)."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    passphrase, salt = hashlib.sha256(secret.encode()).hexdigest().encode(), os.urandom(8)
    derived, block = b"", b""
    while len(derived) < 48:
        block = hashlib.md5(block + passphrase + salt).digest()  # CryptoJS's KDF, not a choice
        derived += block
    padder = padding.PKCS7(128).padder()
    plain = padder.update(json.dumps(token).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(derived[:32]), modes.CBC(derived[32:48])).encryptor()
    body = encryptor.update(plain) + encryptor.finalize()
    return base64.b64encode(os.urandom(16)).decode() + ":" + base64.b64encode(b"Salted__" + salt + body).decode()


def add_generation(launched: LaunchedStudio, visitor: str, prompt: str) -> str:
    """A finished generation of ``visitor`` in the launched studio's history."""
    new = NewGeneration(
        visitor=visitor,
        provider="simulator",
        endpoint="image_to_video",
        model="gen4_turbo",
        form={"prompt_text": prompt},
        estimated_credits=0,
        key_source="simulator",
        seed=1,
        output_seconds=5,
    )
    launched.studio.history.add(new, status="succeeded")
    return new.id


def history_text(client: Client, token: str) -> str:
    """Everything History's API answers for the visitor ``token`` names."""
    unfiltered = ("", "all", "all", "all", False)  # search, tab, model, status, starred only
    return json.dumps(client.predict(token, *unfiltered, api_name="/history"), ensure_ascii=False)


def arrive(client: Client, token: str = "", legacy: str = "") -> str:
    return str(client.predict(token, legacy, api_name="/arrive"))


def generate_as(client: Client, token: str) -> Any:
    """Image to Video from the paper boats on openai-hk, sent with ``token`` as the visitor's token."""
    args = args_for(client, I2V, first_frame=handle_file(str(ASSETS / "paper_boats.png")), ratio="960:960")
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"][I2V]["parameters"]
    args[[p["component"] for p in params].index("Browserstate")] = token
    args[[p["label"] for p in params].index("Provider")] = "openai-hk"
    return client.submit(*args, api_name=I2V)


def signer_of(launched: LaunchedStudio) -> Signer:
    return Signer(browser_secret(launched.settings))


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedStudio]:
    """The studio on the simulator, its secret made once and kept in the data dir."""
    with serve({"STUDIO_DATA_DIR": str(tmp_path_factory.mktemp("identity"))}) as launched:
        yield launched


# --- the secret stays on the server ------------------------------------------------------------------------------


def _published(url: str) -> str:
    return httpx.get(url + "config").text + httpx.get(url).text


def test_the_page_and_its_config_carry_no_secret(studio: LaunchedStudio, tmp_path: Path) -> None:
    made = (studio.settings.data_dir / "browser_secret").read_text().strip()
    assert made and made not in _published(studio.url)
    with serve({"STUDIO_DATA_DIR": str(tmp_path), "STUDIO_SECRET": STUDIO_SECRET}) as hosted:
        assert STUDIO_SECRET not in _published(hosted.url)


# --- a token the server did not sign is a new anonymous visitor --------------------------------------------------


def test_a_forged_token_is_a_new_visitor_and_cannot_read_anothers_history(studio: LaunchedStudio) -> None:
    victim = "VictimVisitor-0123456789abcdef"
    private = add_generation(studio, f"browser:{victim}", "the victim's private prompt")
    client = Client(studio.url, verbose=False)
    assert private in history_text(client, signer_of(studio).sign(victim))  # the real token shows it
    forged = [victim, f"{victim}.{'A' * 43}", Signer("a guessed secret").sign(victim)]
    for token in forged:
        assert private not in history_text(client, token)
        issued = arrive(client, token)  # opening the page with it: a new visitor's token, not the victim's
        assert issued != token and signer_of(studio).visitor(issued) != f"browser:{victim}"


# --- new visitors per address, and which address -----------------------------------------------------------------


def test_new_visitors_per_address_are_capped_and_known_ones_still_arrive(tmp_path: Path) -> None:
    env = {"STUDIO_DATA_DIR": str(tmp_path), "STUDIO_NEW_VISITORS_PER_ADDRESS_DAILY": "2"}
    with serve(env) as launched:
        client = Client(launched.url, verbose=False)
        first, second = arrive(client), arrive(client)
        with pytest.raises(AppError, match="this address has had its 2 new visitors for today"):
            arrive(client)
        assert arrive(client, first) == first and arrive(client, second) == second  # known visitors come back


def _new_visitors_from(url: str, forwarded_for: list[str]) -> list[str]:
    """For each X-Forwarded-For value: "ok" when a new visitor got a token, else "refused"."""
    outcomes = []
    for address in forwarded_for:
        client = Client(url, verbose=False, headers={"X-Forwarded-For": address})
        try:
            arrive(client)
            outcomes.append("ok")
        except AppError:
            outcomes.append("refused")
    return outcomes


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    addresses = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.1", "203.0.113.1"]
    env = {"STUDIO_NEW_VISITORS_PER_ADDRESS_DAILY": "2"}
    with serve(env | {"STUDIO_DATA_DIR": str(tmp_path / "direct")}) as direct:  # the header names nothing
        assert _new_visitors_from(direct.url, addresses) == ["ok", "ok", "refused", "refused", "refused"]
    trusted = env | {"STUDIO_DATA_DIR": str(tmp_path / "proxied"), "STUDIO_TRUSTED_PROXIES": "127.0.0.1"}
    with serve(trusted) as proxied:  # behind a trusted proxy: each named address has its own count
        assert _new_visitors_from(proxied.url, addresses) == ["ok", "ok", "ok", "ok", "refused"]


def test_the_client_address_is_the_peers_unless_the_peer_is_a_trusted_proxy() -> None:
    proxies = networks(["10.0.0.0/8"])
    assert client_address("198.51.100.7", "203.0.113.9", proxies) == "198.51.100.7"
    assert client_address("10.1.2.3", "203.0.113.9", proxies) == "203.0.113.9"
    assert client_address("10.1.2.3", "1.2.3.4, 203.0.113.9, 10.9.9.9", proxies) == "203.0.113.9"  # rightmost
    assert client_address("10.1.2.3", "not-an-address", proxies) == "10.1.2.3"
    assert client_address("10.1.2.3", None, proxies) == "10.1.2.3"


# --- made-up tokens get no new cap ---------------------------------------------------------------------------------


def test_made_up_tokens_get_no_new_spending_cap(tmp_path: Path) -> None:
    """One API caller, new tokens each call: the visitor cap holds for the address (25 credits a clip, cap 30)."""
    simulator = create_app(SimulatorConfig(pending_s=0.1, running_s=0.3, output_dir=tmp_path / "sim"))
    with ServerThread(simulator) as base_url:
        env: Mapping[str, str] = {
            "STUDIO_PROVIDER": "openai-hk",
            "STUDIO_API_KEY": SERVER_KEY,
            "STUDIO_BASE_URL": base_url + "/runwayml",
            "STUDIO_DATA_DIR": str(tmp_path / "data"),
            "STUDIO_VISITOR_DAILY_CREDIT_CAP": "30",
        }
        with serve(env) as launched:
            client = Client(launched.url, verbose=False)
            signed = [arrive(client), arrive(client)]  # two visitors the server signed, from one address
            statuses: list[Any] = []
            for token in ["t1", "t1", "t2", "t3", *signed]:
                statuses.append(latest(list(generate_as(client, token)), 0))
            spent = launched.studio.history.server_key_credits_since(0)
    assert 'data-phase="succeeded"' in statuses[0]
    assert all("your daily credit cap has 5 left" in s for s in statuses[1:]), statuses
    assert simulator.state.engine.counters.created == 1 and spent <= 30


# --- an old browser keeps its history ------------------------------------------------------------------------------


def test_the_old_browser_token_scheme_is_read_as_gradio_wrote_it() -> None:
    old = Signer("legacy-secret-for-vector")
    assert old.legacy(CRYPTOJS_VECTOR) == "browser:Kx3_legacy-token-AbCdEfGhIjKlMnOpQr"
    assert Signer("another secret").legacy(CRYPTOJS_VECTOR) is None
    assert old.legacy(old_browser_blob("Kx3_legacy-token-AbCdEfGhIjKlMnOpQr", "legacy-secret-for-vector")) == (
        "browser:Kx3_legacy-token-AbCdEfGhIjKlMnOpQr"
    )


def test_an_old_browsers_token_becomes_a_signed_one_for_the_same_history(studio: LaunchedStudio) -> None:
    old_token = "OldBrowserToken_abcdefghijklmnop"
    kept = add_generation(studio, f"browser:{old_token}", "made before identity was signed")
    client = Client(studio.url, verbose=False)
    blob = old_browser_blob(old_token, browser_secret(studio.settings))
    signed = arrive(client, "", blob)  # an old page: no signed token yet, the old one in localStorage
    assert signer_of(studio).visitor(signed) == f"browser:{old_token}"
    assert kept in history_text(client, signed)
    stranger = old_browser_blob("NoHistoryHere_abcdefghijklmnop", browser_secret(studio.settings))
    assert signer_of(studio).visitor(arrive(client, "", stranger)) != "browser:NoHistoryHere_abcdefghijklmnop"
