"""E-mail to counsellors: the outbox rows of platform `email`, sent with `smtplib` in a worker
thread (one connection per message: requests are few). Settings: `conseillers.smtp` in
config.yaml; the password comes from the environment variable it names, never from a file.

A refused recipient is permanent (the request is escalated); a server that does not answer or
refuses the login is retried with back-off, and logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from bot.config import ConfigError, SmtpSection
from bot.staff.outbox import OutMessage, TryLater, Undeliverable

log = logging.getLogger(__name__)

FOOTER = (
    "\n\n—\nMessage envoyé par Aiguillage, le robot d'orientation du Département. "
    "Il contient des données personnelles confiées avec l'accord de la personne : ne le "
    "transférez pas. / Sent by Aiguillage; personal data shared with consent."
)


class EmailSender:
    def __init__(self, settings: SmtpSection, password: str | None) -> None:
        self._settings = settings
        self._password = password

    @classmethod
    def from_settings(cls, settings: SmtpSection, env: dict[str, str] | None = None) -> EmailSender:
        environ = os.environ if env is None else env
        password = environ.get(settings.mot_de_passe_env, "") or None
        if settings.utilisateur and not password:
            raise ConfigError(
                f"conseillers.smtp : le mot de passe de {settings.utilisateur} est introuvable. "
                f"Mettez-le dans la variable d'environnement {settings.mot_de_passe_env}. "
                f"/ The SMTP password is missing: set {settings.mot_de_passe_env}."
            )
        return cls(settings, password)

    async def send(self, message: OutMessage) -> str:
        return await asyncio.to_thread(self._send, message)

    def _send(self, message: OutMessage) -> str:
        s = self._settings
        mail = EmailMessage()
        mail["From"] = s.expediteur
        mail["To"] = message.target
        mail["Subject"] = message.subject or "Aiguillage"
        mail["Message-ID"] = make_msgid(domain=s.expediteur.rsplit("@", 1)[-1])
        mail.set_content(message.text + FOOTER)
        try:
            if s.securite == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.hote, s.port, timeout=s.delai_s, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(s.hote, s.port, timeout=s.delai_s)
            with smtp:
                if s.securite == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if s.utilisateur and self._password:
                    smtp.login(s.utilisateur, self._password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise Undeliverable("adresse refusée par le serveur") from exc
        except smtplib.SMTPAuthenticationError as exc:
            log.error("SMTP login refused by %s: check conseillers.smtp", s.hote)
            raise TryLater("connexion SMTP refusée") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TryLater(f"SMTP {type(exc).__name__}") from exc
        return str(mail["Message-ID"])
