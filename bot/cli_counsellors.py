"""`aiguillage link` and `aiguillage rappels`: counsellors' links, posters and call-backs.

aiguillage link CODE [--libelle …] [--besoin …] [--commune …]   links, QR code, A4 poster
aiguillage rappels [--json] [--tous]                             call-back requests, by
                                                                 département and code
aiguillage rappels --prendre ID --par NOM                        take one: the person is told
aiguillage rappels --resultat ID joint|injoignable|oriente [--note …]   its outcome
aiguillage rappels --ecrire ID MESSAGE                          write to the person

Every refusal is a French sentence and exit status 1, never a traceback. `link` keeps what it
is not told to change (label, presets) for codes it made; a code declared in the knowledge
base is changed there.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.kb.vocab import ROUTABLE_NEEDS
from bot.text import did_you_mean

FIELDS = ("id", "at", "platform", "phone", "moment", "commune", "need", "referral", "status",
          "departement", "contact", "handler", "taken_by", "outcome_note", "notified_at",
          "escalated_at", "taken_at", "outcome_at", "lang")  # fmt: skip


class Refused(Exception):
    """A clear French message for the person at the terminal (exit status 1)."""


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    link = sub.add_parser(
        "link", parents=[common], help="liens, QR code et affiche d'un conseiller"
    )
    link.add_argument("code", help="code conseiller, ex. CD54-NANCY")
    link.add_argument("--libelle", help="à quoi sert ce code (ex. « Agence de Nancy »)")
    link.add_argument("--structure", help="la structure du conseiller (ex. « MDS de Toul »)")
    link.add_argument("--accueil", help="« Votre conseillère de la MDS de Toul » (accueil)")
    link.add_argument("--besoin", help="besoin présélectionné (ex. mobilite_permis)")
    link.add_argument("--commune", help="commune présélectionnée (nom, code postal ou INSEE)")
    link.add_argument("--telegram-bot", help="nom du bot Telegram (sans @)")
    link.add_argument("--matrix-user", help="identifiant Matrix du bot (@bot:serveur)")
    link.add_argument(
        "--dossier", type=Path, help="où écrire QR et affiche (défaut : celui de --qr, sinon ici)"
    )
    link.add_argument("--qr", type=Path, help="écrire aussi le QR code dans ce fichier (.png/.svg)")
    rappels = sub.add_parser("rappels", parents=[common], help="demandes de rappel")
    rappels.add_argument("--tous", action="store_true", help="aussi celles déjà traitées")
    rappels.add_argument("--json", action="store_true", help="pour les outils")
    rappels.add_argument("--prendre", type=int, metavar="ID", help="prendre une demande")
    rappels.add_argument("--par", default="", help="votre prénom (dit à la personne)")
    rappels.add_argument(
        "--resultat", nargs=2, metavar=("ID", "RESULTAT"),
        help="noter le résultat : joint, injoignable ou oriente",
    )  # fmt: skip
    rappels.add_argument("--note", help="précision du résultat (ex. « vers la mission locale »)")
    rappels.add_argument(
        "--ecrire", nargs=2, metavar=("ID", "MESSAGE"),
        help="écrire à la personne (elle a choisi « Écrivez-moi ici »)",
    )  # fmt: skip
    rappels.add_argument("--traite", type=int, metavar="ID", help="marquer une demande traitée")


def link(config: Config, args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_link(config, args))
    except Refused as exc:
        print(f"Refusé : {exc}", file=sys.stderr)
        return 1


def rappels(config: Config, args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_rappels(config, args))
    except Refused as exc:
        print(f"Refusé : {exc}", file=sys.stderr)
        return 1


# --- link ----------------------------------------------------------------------------------------


async def _link(config: Config, args: argparse.Namespace) -> int:
    from bot.app import load_static
    from bot.links import LinkError, Poster, build_links, write_poster, write_qr
    from bot.staff.directory import StaffDirectory
    from bot.store import ReferralCode, Store

    code = args.code.strip().upper()
    try:
        build_links(code)
    except LinkError as exc:
        raise Refused(str(exc)) from None
    gazetteer, kb = await asyncio.to_thread(load_static, config)
    need = _need(args.besoin)
    commune = _commune(args.commune, gazetteer, config.departement)
    async with Store.open(config.database, exclusive=False) as store:
        directory = StaffDirectory(config.conseillers)
        directory.refresh(await store.referrals())
        known = directory.code(kb, code)
        declared = code in kb.codes_conseillers
        if known is None and not args.libelle:
            raise Refused(
                f"code « {code} » inconnu : il n'est ni dans la base de connaissances "
                "(codes_conseillers) ni créé avant. Pour le créer, donnez --libelle "
                "(ex. --libelle « Agence de Nancy »). / Unknown code: give --libelle to create it."
            )
        if declared and (args.structure or args.accueil):
            print(
                f"Le code {code} est déclaré dans la base de connaissances : sa structure et "
                "son accueil se changent dans le fichier du département (codes_conseillers). "
                "/ Declared in the knowledge base: edit it there.",
                file=sys.stderr,
            )
        need = need or (known.need if known else None)
        commune = commune or (known.commune if known else None)
        stored = (await store.referrals()).get(code)
        dept = (known.departement if known else None) or config.departement
        label = (
            args.libelle or (stored.label if stored else None) or (known.label if known else code)
        )
        await store.save_referral(
            ReferralCode(code, label, dept, args.besoin and need, args.commune and commune,
                         args.structure, args.accueil)
        )  # fmt: skip
        directory.refresh(await store.referrals())
        known = directory.code(kb, code)
    telegram_bot = args.telegram_bot or config.telegram.bot_username.removeprefix("@") or None
    matrix_user = args.matrix_user or (config.matrix.user_id if config.matrix else None)
    try:
        links = build_links(
            code, need=need, commune=commune, telegram_bot=telegram_bot, matrix_user=matrix_user
        )
    except LinkError as exc:
        raise Refused(str(exc)) from None
    assert known is not None
    print(f"Code à taper / code to type : code {links.code}")
    print(f"Libellé / label : {known.label}")
    if links.telegram:
        print(f"Telegram : {links.telegram}")
    if links.matrix:
        print(f"Matrix : {links.matrix}  (puis taper / then type: code {links.code})")
    target = links.telegram or links.matrix
    if target is None:
        raise Refused(
            "le code est enregistré ; pour un QR code et une affiche, donnez --telegram-bot "
            "ou --matrix-user (ou "
            "telegram.bot_username / matrix.user_id dans config.yaml). / Give --telegram-bot "
            "or --matrix-user."
        )
    folder = args.dossier or (args.qr.parent if args.qr else Path("."))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        png, svg, pdf = (folder / f"{code}.png", folder / f"{code}.svg",
                         folder / f"{code}-affiche.pdf")  # fmt: skip
        write_qr(target, png)
        write_qr(target, svg)
        other = links.matrix if links.telegram else None
        write_poster(Poster(target, code, known.structure or known.label, other), png, pdf)
        if args.qr:
            write_qr(target, args.qr)
    except OSError as exc:
        raise Refused(f"impossible d'écrire dans {folder} ({exc.strerror}).") from None
    print(f"QR code : {png} et {svg}")
    print(f"Affiche A4 / A4 poster : {pdf}")
    if args.qr:
        print(f"QR code : {args.qr}")
    return 0


def _need(value: str | None) -> str | None:
    if not value:
        return None
    need = value.strip()
    if need in ROUTABLE_NEEDS:
        return need
    hint = did_you_mean(need, ROUTABLE_NEEDS)
    extra = f" Vouliez-vous dire « {hint} » ?" if hint else ""
    raise Refused(
        f"besoin inconnu « {need} ».{extra} Besoins possibles : {', '.join(ROUTABLE_NEEDS)}. "
        "/ Unknown need."
    )


def _commune(value: str | None, gazetteer: Any, departement: str) -> str | None:
    if not value:
        return None
    found = gazetteer.get(value.strip().upper())
    if found is not None:
        return str(found.insee)
    resolution = gazetteer.resolve(value, departement)
    if resolution.status == "found" and resolution.candidates:
        return str(resolution.candidates[0].commune.insee)
    if resolution.status == "ambiguous":
        names = ", ".join(
            f"{c.commune.name} ({c.commune.insee})" for c in resolution.candidates[:5]
        )
        raise Refused(
            f"plusieurs communes pour « {value} » : {names}. Donnez le code INSEE. "
            "/ Several communes: give the INSEE code."
        )
    raise Refused(
        f"commune inconnue « {value} » : donnez son nom exact, son code postal ou son code "
        "INSEE (ex. 54395 pour Nancy). / Unknown commune."
    )


# --- rappels -------------------------------------------------------------------------------------


async def _rappels(config: Config, args: argparse.Namespace) -> int:
    from bot.callbacks.desk import CallbackDesk
    from bot.staff.outbox import Outbox
    from bot.store import Store

    async with Store.open(config.database, exclusive=False) as store:
        desk = CallbackDesk(
            store, Outbox(store), follow_up_after_s=config.conseillers.suivi_apres_jours * 86400
        )
        if args.prendre is not None:
            taken = await desk.take(args.prendre, args.par or "un conseiller", via="cli")
            if taken.status == "inconnu":
                raise Refused(f"demande n°{args.prendre} introuvable. / No such request.")
            if taken.status == "deja":
                print(f"Demande n°{args.prendre} déjà prise par {taken.by}. / Already taken.")
                return 1
            print(
                f"Demande n°{args.prendre} prise par {taken.by} : la personne va en être "
                "prévenue. / Taken: the person will be told."
            )
            return 0
        if args.resultat is not None:
            raw_id, outcome = args.resultat
            if not raw_id.isdigit():
                raise Refused(f"« {raw_id} » n'est pas un numéro de demande.")
            result = await desk.record_outcome(int(raw_id), outcome, args.par, args.note)
            if result == "resultat_inconnu":
                raise Refused(
                    f"résultat inconnu « {outcome} » : joint, injoignable ou oriente. "
                    "/ Unknown outcome."
                )
            if result == "inconnu":
                raise Refused(f"demande n°{raw_id} introuvable. / No such request.")
            print(f"Résultat noté pour la demande n°{raw_id}. / Outcome recorded.")
            return 0
        if args.ecrire is not None:
            raw_id, text = args.ecrire
            if not raw_id.isdigit():
                raise Refused(f"« {raw_id} » n'est pas un numéro de demande.")
            if await desk.write(int(raw_id), args.par or "un conseiller", text) != "ok":
                raise Refused(f"demande n°{raw_id} introuvable, ou message vide.")
            print(f"Message transmis à la personne (demande n°{raw_id}). / Message queued.")
            return 0
        if args.traite is not None:
            ok = await store.set_callback_status(args.traite, "traite")
            if not ok:
                raise Refused(f"demande n°{args.traite} introuvable. / No such request.")
            print("Demande marquée traitée. / Marked done.")
            return 0
        rows = await store.run(lambda db: _rows(db, args.tous))
        labels = await _code_labels(config, store)
    _print(rows, labels, config, args)
    return 0


def _rows(db: Any, everything: bool) -> list[dict[str, Any]]:
    sql = f"SELECT {', '.join(FIELDS)} FROM callbacks"
    if not everything:
        sql += " WHERE status IN ('nouveau', 'pris')"
    return [dict(zip(FIELDS, r, strict=True)) for r in db.execute(sql + " ORDER BY at")]


async def _code_labels(config: Config, store: Any) -> dict[str, str]:
    """Labels of the codes, from the database and the knowledge base (files read directly:
    the listing must work even when the base has errors)."""
    labels = {code: r.label or code for code, r in (await store.referrals()).items()}
    try:
        from bot.app import load_static

        _, kb = await asyncio.to_thread(load_static, config)
    except Exception:  # the listing does not depend on the knowledge base being valid
        return labels
    labels.update({code: c.libelle for code, c in kb.codes_conseillers.items()})
    return labels


def _print(
    rows: list[dict[str, Any]], labels: dict[str, str], config: Config, args: argparse.Namespace
) -> None:
    from bot.callbacks import STATUSES
    from bot.places import Gazetteer
    from bot.terminal import json_printable, printable

    gazetteer = Gazetteer.load(config.knowledge / "communes.csv.gz")
    wanted = getattr(args, "departement", None)
    for row in rows:
        commune = gazetteer.get(row["commune"]) if row["commune"] else None
        row["commune_nom"] = commune.name if commune else None
        row["departement"] = row["departement"] or (commune.dept if commune else None)
        row["code_libelle"] = labels.get(row["referral"] or "")
        row["statut_libelle"] = STATUSES.get(row["status"], row["status"])
    if wanted:
        rows = [r for r in rows if r["departement"] == wanted.zfill(2)]
    if args.json:
        out = [
            {
                "id": r["id"], "date": _when(r["at"]), "departement": r["departement"],
                "code": r["referral"], "code_libelle": r["code_libelle"],
                "commune": r["commune_nom"], "besoin": r["need"], "telephone": r["phone"],
                "contact": r["contact"] or "telephone", "moment": r["moment"],
                "statut": r["status"], "pris_par": r["taken_by"], "note": r["outcome_note"],
                "relancee": r["escalated_at"] is not None,
            }
            for r in rows
        ]  # fmt: skip
        print(json_printable(json.dumps(out, ensure_ascii=False, indent=2)))
        return
    if not rows:
        print("Aucune demande de rappel. / No call-back request.")
        return
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["departement"] or "?", r["referral"] or ""), []).append(r)
    for (dept, code), items in sorted(groups.items()):
        title = f"Département {dept}"
        title += f" · code {code} ({items[0]['code_libelle'] or code})" if code else " · sans code"
        print(f"\n{printable(title)}")
        for r in items:
            reach = "écrire dans le chat" if r["contact"] == "ici" else f"☎ {r['phone']}"
            when = f" ({r['moment']})" if r["moment"] else ""
            taken = f" par {r['taken_by']}" if r["taken_by"] else ""
            line = (
                f"  n°{r['id']} {_when(r['at'])} · {reach}{when} · "
                f"{r['commune_nom'] or 'commune ?'} · {r['need'] or 'besoin ?'} · "
                f"{r['statut_libelle']}{taken}"
            )
            print(printable(line))


def _when(at: float) -> str:
    return dt.datetime.fromtimestamp(at).strftime("%d/%m/%Y %H:%M")
