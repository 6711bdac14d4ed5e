"""Privacy controls: what analysts see of personal identifiers.

With ``privacy.hash_identifiers`` on, the analyst snapshot (:mod:`distillguard.snapshot`)
replaces client IPs, end-user ids and signup IPs with a keyed hash: HMAC-SHA256 under
``privacy.hash_key``, hex, truncated to 16 characters. The hash is deterministic, so joins,
counts and "shared by 12 members" still work, and IP literals quoted inside reasons are
replaced by the same hash, so a reason can still be checked against ``events``. Without the key
the original values cannot be recovered or confirmed by guessing (unlike a plain hash, which an
attacker can brute-force over the IPv4 space).

>>> h = KeyedHasher("s3cret")
>>> h.hash("203.0.113.7") == h.hash("203.0.113.7") != h.hash("203.0.113.8")
True
>>> len(h.hash("203.0.113.7"))
16
>>> text = "3 of 3 members share client IP '203.0.113.7'; signup network '203.0.113.0/24'"
>>> h.hash_ips_in_text(text) == (f"3 of 3 members share client IP '{h.hash('203.0.113.7')}'; "
...                              f"signup network '{h.hash('203.0.113.0/24')}'")
True
>>> h.hash_ips_in_text("ua:curl/8.5.0 at 12:30:45, 93% of 2,214 requests")
'ua:curl/8.5.0 at 12:30:45, 93% of 2,214 requests'
>>> h.hash_ips_in_text("ip:2001:db8::1 and 198.51.100.4.") == f"ip:{h.hash('2001:db8::1')} and {h.hash('198.51.100.4')}."
True
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re

HASH_HEX_CHARS = 16

#: Columns (in any table) holding one personal identifier each: replaced by its keyed hash.
IDENTIFIER_COLUMNS = frozenset({"client_ip", "end_user_id", "signup_ip"})
#: Free-text columns that may quote IP addresses (reasons, ring evidence, analysts' notes, run
#: messages; matched by name, e.g. ``reasons_at_review``): IPs inside are hashed.
TEXT_COLUMN_PATTERN = re.compile(r"reason|shared|evidence|note|message")
#: ``(table, column)`` pairs analysts do not get at all when hashing: raw rejected records may
#: hold any identifier in any shape, so they are blanked (the reason code and reason stay).
DROPPED_COLUMNS = frozenset({("rejected_events", "raw")})

# Candidate IP literals (validated with ipaddress before hashing), optionally with a /prefix.
_IP_CANDIDATE = re.compile(r"[0-9A-Fa-f:.]*[.:][0-9A-Fa-f:.]*(?:/\d{1,3})?")


class PrivacyConfigError(ValueError):
    """Identifier hashing was asked for without a key."""


def require_key(hash_identifiers: bool, hash_key: str) -> None:
    """Fail clearly when hashing is on but no key is set (an unkeyed hash is reversible for IPs)."""
    if hash_identifiers and not (hash_key or "").strip():
        raise PrivacyConfigError(
            "privacy.hash_identifiers is on but privacy.hash_key is empty: set a secret key "
            "(e.g. DISTILLGUARD_PRIVACY__HASH_KEY) or turn hashing off"
        )


class KeyedHasher:
    """Deterministic keyed hashing of identifiers (with a cache: the same values recur a lot)."""

    def __init__(self, key: str) -> None:
        require_key(True, key)
        self._key = key.encode("utf-8")
        self._cache: dict[str, str] = {}

    def hash(self, value: str) -> str:
        found = self._cache.get(value)
        if found is None:
            found = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:HASH_HEX_CHARS]
            if len(self._cache) < 1_000_000:
                self._cache[value] = found
        return found

    def hash_ips_in_text(self, text: str) -> str:
        """``text`` with every IPv4/IPv6 address or network literal replaced by its hash."""
        return _IP_CANDIDATE.sub(lambda m: self._replace_ip(m.group(0)), text)

    def _replace_ip(self, token: str) -> str:
        # Punctuation around an address is kept: 'ip:2001:db8::1' yields ':2001:db8::1', and a
        # sentence may end with 'IP 203.0.113.7.'
        stripped = token.rstrip(".:")
        for core in dict.fromkeys((token, stripped)):
            for lead in ("", ":"):
                candidate = core[len(lead):] if core.startswith(lead) else ""
                if candidate and _is_ip(candidate):
                    return lead + self.hash(candidate) + token[len(core):]
        return token


def _is_ip(token: str) -> bool:
    try:
        if "/" in token:
            ipaddress.ip_network(token, strict=False)
        else:
            ipaddress.ip_address(token)
    except ValueError:
        return False
    return True
