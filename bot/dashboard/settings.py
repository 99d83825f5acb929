"""The `dashboard:` section of config.yaml.

```yaml
dashboard:
  host: 127.0.0.1          # keep it on loopback; put a HTTPS reverse proxy in front otherwise
  port: 8080
  session_minutes: 480     # a session lasts 8 hours, then the admin logs in again
  secure_cookies: false    # true behind HTTPS: cookies are then only sent over HTTPS
  admins:
    - login: marie
      password_hash: "$argon2id$v=19$m=65536,t=3,p=4$..."   # aiguillage dashboard --hash-password
    - login: karim
      password_hash_env: AIGUILLAGE_DASHBOARD_KARIM        # or the hash in this variable
```

The model is read from the raw `dashboard` mapping (`parse_dashboard_settings`), so that the
configuration loader only has to hand that mapping over (or use `DashboardSettings` as the type
of its `dashboard` field).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.config_errors import ConfigError

HASH_PREFIX = "$argon2id$"

Login = Annotated[str, Field(pattern=r"^[A-Za-z0-9._@-]{1,64}$")]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class AdminAccount(BaseModel):
    """One admin: a login and the hash of their password, or the variable that holds it."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    login: Login
    password_hash: str | None = None
    password_hash_env: EnvName | None = None

    @model_validator(mode="after")
    def _one_source(self) -> AdminAccount:
        if (self.password_hash is None) == (self.password_hash_env is None):
            raise ValueError("donnez soit password_hash, soit password_hash_env (un seul des deux)")
        if self.password_hash is not None and not self.password_hash.startswith(HASH_PREFIX):
            raise ValueError(
                "password_hash n'est pas un hachage Argon2id : collez la ligne que donne "
                "« aiguillage dashboard --hash-password », jamais le mot de passe lui-même"
            )
        return self


class DashboardSettings(BaseModel):
    """The section's model; strict like the rest of config.yaml (`port: "8080"` is refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    admins: list[AdminAccount] = Field(default_factory=list)
    session_minutes: int = Field(480, ge=5, le=7 * 24 * 60)
    secure_cookies: bool = False
    login_max_failures: int = Field(5, ge=1, le=100)
    login_lockout_minutes: int = Field(15, ge=1, le=24 * 60)


def parse_dashboard_settings(raw: object, where: str = "config.yaml") -> DashboardSettings:
    """Validate the raw `dashboard` mapping; a ConfigError names the setting, in French."""
    if raw is None:
        return DashboardSettings()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} : « dashboard » doit être un dictionnaire de réglages.")
    try:
        return DashboardSettings.model_validate(dict(raw))
    except ValidationError as exc:
        details = "; ".join(_describe(error) for error in exc.errors())
        raise ConfigError(f"{where} : section « dashboard » : {details}.") from exc


def admin_hashes(
    settings: DashboardSettings, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Login → password hash, reading the variables named by `password_hash_env`."""
    env = os.environ if environ is None else environ
    hashes: dict[str, str] = {}
    for admin in settings.admins:
        if admin.login in hashes:
            raise ConfigError(f"dashboard.admins : l'identifiant « {admin.login} » est en double.")
        value = admin.password_hash
        if admin.password_hash_env is not None:
            value = env.get(admin.password_hash_env, "").strip()
            if not value:
                raise ConfigError(
                    f"dashboard.admins : la variable d'environnement {admin.password_hash_env} "
                    f"(mot de passe de « {admin.login} ») est vide ou absente."
                )
            if not value.startswith(HASH_PREFIX):
                raise ConfigError(
                    f"dashboard.admins : {admin.password_hash_env} ne contient pas un hachage "
                    "Argon2id (aiguillage dashboard --hash-password le donne)."
                )
        assert value is not None
        hashes[admin.login] = value
    if not hashes:
        raise ConfigError(
            "aucun administrateur pour le tableau de bord : ajoutez dashboard.admins dans "
            "config.yaml (login et password_hash, donné par « aiguillage dashboard "
            "--hash-password »). / No dashboard admin configured."
        )
    return hashes


_MESSAGES = {
    "extra_forbidden": "réglage inconnu",
    "int_parsing": "un nombre entier est attendu",
    "int_type": "un nombre entier est attendu",
    "bool_parsing": "true ou false est attendu",
    "bool_type": "true ou false est attendu",
    "string_type": "un texte est attendu",
    "list_type": "une liste est attendue (une ligne « - … » par élément)",
    "model_type": "un dictionnaire est attendu (des lignes « clé: valeur »)",
    "string_pattern_mismatch": "caractères non permis (lettres, chiffres, « . _ @ - »)",
    "missing": "réglage obligatoire manquant",
}


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    kind = str(error.get("type", ""))
    limit = (error.get("ctx") or {}).get("ge", (error.get("ctx") or {}).get("le"))
    if kind == "greater_than_equal":
        message = f"doit valoir au moins {limit}"
    elif kind == "less_than_equal":
        message = f"doit valoir au plus {limit}"
    else:
        message = _MESSAGES.get(kind) or str(error.get("msg", "valeur invalide"))
        message = message.removeprefix("Value error, ")
    return f"{where} : {message}" if where else message
