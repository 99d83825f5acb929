"""Which sources count as official: pages on a list of trusted domains kept in the knowledge base
(`national.domaines_sources_fiables` in `commun/national.yaml`).

A domain covers itself and its subdomains: `service-public.fr` covers `www.service-public.fr`,
not `faux-service-public.fr`. Hosts are compared without case and without a final dot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

_LABEL: Final = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN: Final = re.compile(rf"^(?=.{{1,253}}$)(?:{_LABEL}\.)+[a-z][a-z0-9-]{{1,62}}$")


def normalise_domain(value: str) -> str:
    """`value` as a trusted-domain entry (lower case, no final dot); ValueError, in French, if
    it is not a bare domain name."""
    domain = value.strip().lower().rstrip(".")
    if "://" in domain or "/" in domain:
        raise ValueError(
            f"« {value} » n'est pas un nom de domaine : écrivez seulement le domaine, "
            "sans « https:// » ni « / », par exemple « service-public.fr »"
        )
    if not _DOMAIN.match(domain):
        raise ValueError(
            f"nom de domaine invalide « {value} » (attendu : par exemple « service-public.fr »)"
        )
    return domain


def host_of(url: str) -> str | None:
    """The host name of `url`, lower case and without a final dot; None when it has none."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


@dataclass(frozen=True, slots=True)
class TrustedDomains:
    """A set of domains; `covers(url)` says whether a page is on one of them."""

    domains: frozenset[str]

    @classmethod
    def of(cls, domains: Iterable[str]) -> TrustedDomains:
        return cls(frozenset(d.lower().rstrip(".") for d in domains))

    def covers(self, url: str) -> bool:
        host = host_of(url)
        if not host:
            return False
        return any(host == domain or host.endswith(f".{domain}") for domain in self.domains)
