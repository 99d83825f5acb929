"""Counsellor codes and the channels their call-back requests go to.

A code comes from the knowledge base (`codes_conseillers:` of a département's file) or from
`aiguillage link` (the `referral_codes` table); the knowledge base wins when both have it.
Requests go to the code's own channel (`demandes:`), else to the département's default channel
(`conseillers.canaux` in config.yaml); not taken in time, to the next channel of the chain:
the département's default, then `conseillers.secours`. An example code's channel is never
used (it is there to show the form).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.config import ChannelSection, CounsellorSection
from bot.kb.knowledge import KnowledgeBase
from bot.kb.models import CodeConseiller
from bot.store import ReferralCode


@dataclass(frozen=True, slots=True)
class Channel:
    """Where a request goes: any of a Telegram group, a Matrix room, e-mail addresses."""

    label: str  # who calls back, as the person is told
    telegram: int | None = None
    matrix: str | None = None
    emails: tuple[str, ...] = ()
    name: str = ""  # for logs and listings: "code CD54-TOUL", "département 54", "secours"

    @property
    def targets(self) -> list[tuple[str, str]]:
        """(platform, target) pairs of this channel."""
        out: list[tuple[str, str]] = []
        if self.telegram is not None:
            out.append(("telegram", str(self.telegram)))
        if self.matrix:
            out.append(("matrix", self.matrix))
        out += [("email", address) for address in self.emails]
        return out

    @classmethod
    def of(cls, section: ChannelSection, name: str) -> Channel:
        return cls(section.libelle, section.telegram, section.matrix, tuple(section.courriel), name)


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """What the bot knows of a counsellor code, wherever it was declared."""

    code: str
    label: str
    structure: str | None = None
    greeting: str | None = None  # "Votre conseillère de la Maison des solidarités de Toul"
    departement: str | None = None
    need: str | None = None
    commune: str | None = None
    channel: Channel | None = None
    example: bool = False

    @property
    def who_calls(self) -> str | None:
        """Who calls back for this code (the person is told)."""
        if self.channel is not None:
            return self.channel.label
        return self.structure


def from_kb(code: CodeConseiller) -> CodeInfo:
    channel = None
    if code.demandes is not None and not code.exemple:
        d = code.demandes
        channel = Channel(
            d.libelle or code.structure, d.telegram, d.matrix, tuple(d.courriel),
            f"code {code.code}",
        )  # fmt: skip
    return CodeInfo(
        code=code.code,
        label=code.libelle,
        structure=code.structure,
        greeting=code.accueil,
        departement=code.departement,
        need=code.besoin,
        commune=code.commune,
        channel=channel,
        example=code.exemple,
    )


def from_store(code: ReferralCode) -> CodeInfo:
    return CodeInfo(
        code=code.code,
        label=code.label or code.code,
        structure=code.structure,
        greeting=code.accueil,
        departement=code.departement,
        need=code.need,
        commune=code.commune,
    )


@dataclass(slots=True)
class StaffDirectory:
    """Codes and channels, read by the dialogue's acts (on the database thread) and by the
    call-back desk. `stored` is replaced as a whole when the codes made with `aiguillage link`
    are read again (`refresh`): readers see the old mapping or the new one."""

    settings: CounsellorSection = field(default_factory=CounsellorSection)
    stored: Mapping[str, CodeInfo] = field(default_factory=dict)

    def refresh(self, codes: Mapping[str, ReferralCode]) -> None:
        self.stored = {code: from_store(r) for code, r in codes.items()}

    def code(self, kb: KnowledgeBase, code: str | None) -> CodeInfo | None:
        if not code:
            return None
        declared = kb.codes_conseillers.get(code)
        if declared is not None:
            return from_kb(declared)
        return self.stored.get(code)

    def chain(self, kb: KnowledgeBase, code: str | None, departement: str | None) -> list[Channel]:
        """The channels a request goes to, in order: the first, then each fallback."""
        chain: list[Channel] = []
        info = self.code(kb, code)
        if info is not None and info.channel is not None:
            chain.append(info.channel)
        dept = departement or (info.departement if info else None)
        default = self.settings.canaux.get(dept or "")
        if default is not None:
            chain.append(Channel.of(default, f"département {dept}"))
        if self.settings.secours is not None:
            chain.append(Channel.of(self.settings.secours, "secours"))
        unique: list[Channel] = []
        for channel in chain:
            if all(channel.targets != seen.targets for seen in unique):
                unique.append(channel)
        return unique

    def who_calls(self, kb: KnowledgeBase, code: str | None, departement: str | None) -> str:
        """Who will call back, as the person is told ("" when nobody is configured)."""
        info = self.code(kb, code)
        if info is not None and info.who_calls and info.channel is not None:
            return info.who_calls
        chain = self.chain(kb, code, departement)
        if chain:
            return chain[0].label
        return info.structure if info is not None and info.structure else ""

    def delay(self, lang: str) -> str:
        s = self.settings
        return s.delai_annonce_en if lang == "en" else s.delai_annonce
