"""Per-person inbound flood control: someone (or a script) writing very fast is slowed politely,
and nobody else is slowed at all.

The policy, per conversation key (a GCRA, the token bucket written as one "theoretical arrival
time" per person):
- up to `burst` messages at once go through untouched (a person pasting several lines, or the
  backlog a platform re-delivers after a restart), then `per_second` messages per second;
- a message beyond that is **delayed** until its slot, in order, as long as the wait stays under
  `max_delay_s`: it is still answered, only later;
- beyond that bound the message is **not read**: no dialogue step, nothing stored but the fact
  that the event was handled (so it is not re-delivered);
- the person is told once, kindly, per flood: when a message must wait a second or more, or is
  not read. The notice says that later messages may go unread, so that nothing the person expects
  to be answered is lost silently. The flood ends when the person's bucket is full again.

A re-delivered event (the platform sending it again after a restart) gives its slot back: it
is not the person writing fast.

Other people have their own bucket and their own conversation lock: one person's wait never
delays anyone else's turn in the dispatcher.

The local console and JSON-lines (`platform == "console"`) are exempt: they are the admin's own
terminal and scripts, and replaying a script must not depend on how fast it is fed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from bot.messages import Reply

NOTICE = (
    "Vous écrivez très vite 🙂 Je lis vos messages un par un, alors ma réponse peut prendre "
    "quelques secondes. Si vous en envoyez beaucoup d'un coup, je ne peux pas tous les lire : "
    "attendez ma réponse, puis renvoyez ce qui manque.\n\n"
    "You are writing very fast. I read your messages one at a time, so my answer may take a few "
    "seconds. If you send many at once I cannot read them all: wait for my answer, then send "
    "again what is missing."
)


def notice_reply() -> Reply:
    return Reply(NOTICE)


@dataclass(frozen=True, slots=True)
class FloodPolicy:
    burst: int = 20
    per_second: float = 4.0
    max_delay_s: float = 5.0
    notice_after_s: float = 1.0  # a wait at least this long is worth explaining
    exempt_platforms: frozenset[str] = frozenset({"console"})


class Verdict(Enum):
    NOW = "now"
    DELAYED = "delayed"
    NOT_READ = "not_read"


@dataclass(frozen=True, slots=True)
class Admission:
    verdict: Verdict
    start_at: float  # monotonic time at which the turn may start
    notify: bool  # prepend (or send) the notice: the first time in this flood

    @property
    def reads(self) -> bool:
        return self.verdict is not Verdict.NOT_READ


READ_NOW = Admission(Verdict.NOW, 0.0, False)


@dataclass(slots=True)
class _Bucket:
    tat: float  # theoretical arrival time of the next conforming message
    notified: bool = False


@dataclass(slots=True)
class FloodControl:
    """Decides, for each incoming message, whether it goes now, later, or is not read."""

    policy: FloodPolicy = field(default_factory=FloodPolicy)
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _sweep_at: int = 1024

    def admit(self, platform: str, key: str, now: float) -> Admission:
        """Call once per message, in arrival order, with a monotonic `now`."""
        policy = self.policy
        if platform in policy.exempt_platforms:
            return READ_NOW
        self._sweep(now)
        interval = 1.0 / policy.per_second
        tolerance = (policy.burst - 1) * interval
        bucket = self._buckets.get(key)
        if bucket is None or bucket.tat <= now:  # a full bucket: any earlier flood is over
            bucket = self._buckets[key] = _Bucket(tat=now)
        start = bucket.tat - tolerance
        if start <= now:
            bucket.tat += interval
            return READ_NOW
        wait = start - now
        if wait <= policy.max_delay_s:
            bucket.tat += interval
            notify = wait >= policy.notice_after_s and not bucket.notified
            verdict = Verdict.DELAYED
        else:
            notify = not bucket.notified
            verdict = Verdict.NOT_READ
        bucket.notified = bucket.notified or notify
        return Admission(verdict, start if verdict is Verdict.DELAYED else now, notify)

    def refund(self, platform: str, key: str) -> None:
        """Give back the slot of a message that turned out to be a re-delivery (the platform
        sending an event again after a restart is not the person writing)."""
        bucket = self._buckets.get(key)
        if platform not in self.policy.exempt_platforms and bucket is not None:
            bucket.tat -= 1.0 / self.policy.per_second

    def __len__(self) -> int:
        return len(self._buckets)

    def _sweep(self, now: float) -> None:
        """Forget full buckets once there are many (memory stays bounded by who floods)."""
        if len(self._buckets) < self._sweep_at:
            return
        self._buckets = {k: b for k, b in self._buckets.items() if b.tat > now}
        self._sweep_at = max(1024, 2 * len(self._buckets))
