"""The call-back lifecycle: a person asks to be contacted → the counsellors' channel is told →
one counsellor takes it → the person is told who → the counsellor records the outcome → the
person may be asked later whether it helped (opt-in).

- `request.py`  what the dialogue records (summary facts for the counsellor, in French);
- `summary.py`  the counsellor's message (need, commune, situation, structures, how to reach);
- `desk.py`     taking a request and recording its outcome (chat buttons, replies, the CLI);
- `notify.py`   the loop of the running bot: notify new requests, escalate those not taken in
                time to the next channel, send follow-ups, never drop one silently.

Statuses (`callbacks.status`): `nouveau` (waiting for a counsellor), `pris` (taken), then the
outcome: `joint` (reached), `injoignable` (not reached), `oriente` (oriented elsewhere), or
`traite` (done, from older versions and `aiguillage rappels --traite`).
"""

OUTCOMES = {
    "joint": "Personne jointe",
    "injoignable": "Personne pas jointe",
    "oriente": "Orientée vers une structure",
    "traite": "Traitée",
}
STATUSES = {"nouveau": "Nouvelle", "pris": "Prise en charge", **OUTCOMES}
