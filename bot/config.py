"""Settings: `config.yaml` (see config.example.yaml), overridden by command-line options.

The whole file is validated at once, with one pydantic model per section, and every problem is
reported together in one `ConfigError` (French first, then English) that names the key: unknown
keys (with « vouliez-vous dire … ? »), wrong types (`max_resultats: "3"` is refused, never
coerced silently), bad URLs, out-of-range numbers. To add a section, write its model (a
`Section`) and add one field to `Config`: unknown top-level keys stay errors.

The file is read with YAML 1.2 scalars: only `true`/`false` are booleans, so `encryption: off`
is the word "off" (YAML 1.1 would read it as `False`), and `054` is the number 54, not octal.

Secrets (tokens, passwords) never live in the file: the file names the environment variable
that holds them, and the adapter that needs one refuses to start when that variable is empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias, get_args, get_origin
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.config_errors import ConfigError as ConfigError  # re-exported: the config error
from bot.dashboard.settings import DashboardSettings
from bot.text import did_you_mean

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_KNOWLEDGE = PROJECT_ROOT / "knowledge"
MAX_CONFIG_BYTES = 1_000_000


# --- reusable field types ------------------------------------------------------------------------


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("aiguillage", message)


def _http_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value.strip():
        raise _invalid(
            "une adresse web complète est attendue, par exemple https://exemple.org. "
            "/ A full http(s) URL is expected."
        )
    try:
        _ = parts.port
    except ValueError:
        raise _invalid(
            "le numéro de port de l'adresse est invalide. / The URL's port is invalid."
        ) from None
    return value.strip()


def _https_url_or_empty(value: str) -> str:
    if not value:
        return value
    value = _http_url(value)
    if not value.startswith("https://"):
        raise _invalid(
            "une adresse publique en https:// est attendue (Telegram n'appelle que des "
            "webhooks HTTPS). / A public https:// URL is expected."
        )
    return value


def _env_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}", value):
        raise _invalid(
            "le nom d'une variable d'environnement est attendu (lettres, chiffres et _, par "
            "exemple AIGUILLAGE_TELEGRAM_TOKEN), jamais le secret lui-même. "
            "/ The name of an environment variable is expected, never the secret itself."
        )
    return value


def _departement(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:02d}"
    if isinstance(value, str):
        code = value.strip().upper().zfill(2)
        if re.fullmatch(r"0[1-9]|[1-8][0-9]|9[0-5]|2[AB]|97[1-6]", code):
            return code
        raise _invalid(
            f"« {value} » n'est pas un code de département (ex. « 54 », « 2A », « 974 »). "
            "/ Not a département code."
        )
    return value  # not a string: the StrictStr check says so


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


HttpUrl: TypeAlias = Annotated[StrictStr, AfterValidator(_http_url)]
EnvName: TypeAlias = Annotated[StrictStr, AfterValidator(_env_name)]
Departement: TypeAlias = Annotated[StrictStr, BeforeValidator(_departement)]
Score: TypeAlias = Annotated[StrictFloat, Field(ge=0, le=100)]


class Section(BaseModel):
    """One part of config.yaml: unknown keys are errors, values are checked strictly."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- sections ------------------------------------------------------------------------------------


class DialogueSettings(Section):
    faq_seuil_haut: Score = 86.0  # answer directly at or above this score
    faq_seuil_bas: Score = 70.0  # below: not understood; between: "did you mean A or B?"
    ecart_ambiguite: Score = 4.0  # top two closer than this: ask which one
    max_resultats: Annotated[StrictInt, Field(ge=1, le=20)] = 3

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> DialogueSettings:
        if self.faq_seuil_bas > self.faq_seuil_haut:
            raise ValueError(
                "faq_seuil_bas doit être inférieur ou égal à faq_seuil_haut. "
                "/ faq_seuil_bas must not exceed faq_seuil_haut."
            )
        return self


class WebhookSection(Section):
    listen: Annotated[StrictStr, Field(min_length=1)] = "127.0.0.1"
    port: Annotated[StrictInt, Field(ge=0, le=65535)] = 8443
    url: Annotated[StrictStr, AfterValidator(_https_url_or_empty)] = ""
    secret_token_env: EnvName | None = None
    max_connections: Annotated[StrictInt, Field(ge=1, le=100)] = 40


class TelegramSection(Section):
    token_env: EnvName = "AIGUILLAGE_TELEGRAM_TOKEN"
    base_url: HttpUrl = "https://api.telegram.org/bot"
    mode: Literal["polling", "webhook"] = "polling"
    webhook: WebhookSection | None = None
    bot_username: Annotated[StrictStr, Field(pattern=r"^@?([A-Za-z][A-Za-z0-9_]{3,31})?$")] = ""
    poll_timeout: Annotated[StrictInt, Field(ge=0, le=50)] = 25
    concurrency: Annotated[StrictInt, Field(ge=1, le=256)] = 16
    max_attempts: Annotated[StrictInt, Field(ge=1, le=10)] = 3

    @model_validator(mode="after")
    def _webhook_needs_a_url(self) -> TelegramSection:
        if self.mode == "webhook" and (self.webhook is None or not self.webhook.url):
            raise ValueError(
                "en mode webhook, donnez webhook.url (une adresse publique en https://), "
                "webhook.listen et webhook.port. / In webhook mode, webhook.url is required."
            )
        return self


MATRIX_USER_ID = r"^@[^:\s]+:[^\s]+$"


class MatrixSection(Section):
    homeserver: HttpUrl
    user_id: Annotated[StrictStr, Field(pattern=MATRIX_USER_ID)]
    password_env: EnvName = "AIGUILLAGE_MATRIX_PASSWORD"
    access_token_env: EnvName = "AIGUILLAGE_MATRIX_TOKEN"
    device_name: Annotated[StrictStr, Field(min_length=1, max_length=100)] = "Aiguillage"
    invite_policy: Literal["anyone", "servers"] = "anyone"
    allowed_servers: list[Annotated[StrictStr, Field(min_length=1)]] = []
    shared_rooms: Literal["separate", "refuse"] = "separate"
    encryption: Literal["auto", "off"] = "auto"

    @model_validator(mode="after")
    def _servers_policy_needs_servers(self) -> MatrixSection:
        if self.invite_policy == "servers" and not self.allowed_servers:
            raise ValueError(
                "« invite_policy: servers » demande une liste « allowed_servers » (par exemple "
                "[example.org]). / invite_policy: servers needs allowed_servers."
            )
        return self


class KnowledgeWatchSection(Section):
    """Live reload (`bot/kb/watch.py`): while serving, the bot watches the knowledge folder
    and reloads it once its YAML files have been quiet for `quiet_ms` after a change."""

    enabled: StrictBool = True
    quiet_ms: Annotated[StrictInt, Field(ge=50, le=10_000)] = 300


class ConsoleSection(Section):
    """The terminal adapter has no settings yet; the section exists so it can get some."""


MATRIX_ROOM_ID = r"^!\S+$"  # room version 12 ids have no ":server"


class ChannelSection(Section):
    """Where counsellors' call-back requests go: a Telegram group, a Matrix room and/or e-mail
    addresses (at least one). `libelle` is who calls back, as the person is told."""

    libelle: Annotated[StrictStr, Field(min_length=1, max_length=120)]
    telegram: StrictInt | None = None  # the group's chat id (negative, e.g. -1001234567890)
    matrix: Annotated[StrictStr, Field(pattern=MATRIX_ROOM_ID)] | None = None  # !salon:serveur
    courriel: list[EmailStr] = []

    @model_validator(mode="after")
    def _somewhere(self) -> ChannelSection:
        if self.telegram is None and self.matrix is None and not self.courriel:
            raise ValueError(
                "donnez au moins un canal : telegram (id du groupe), matrix (id du salon, "
                "!abc:serveur) ou courriel. / Give at least one channel."
            )
        return self


class SmtpSection(Section):
    hote: Annotated[StrictStr, Field(min_length=1)]
    port: Annotated[StrictInt, Field(ge=1, le=65535)] = 587
    expediteur: EmailStr
    utilisateur: StrictStr | None = None
    mot_de_passe_env: EnvName = "AIGUILLAGE_SMTP_PASSWORD"
    securite: Literal["starttls", "ssl", "aucune"] = "starttls"
    delai_s: Annotated[StrictFloat | StrictInt, Field(gt=0, le=120)] = 20.0


class CounsellorSection(Section):
    """`conseillers:` call-back requests: where they go, how fast, how long they are kept."""

    delai_prise_minutes: Annotated[StrictInt, Field(ge=1, le=14 * 24 * 60)] = 240
    delai_annonce: Annotated[StrictStr, Field(min_length=1)] = "sous deux jours ouvrés"
    delai_annonce_en: Annotated[StrictStr, Field(min_length=1)] = "within two working days"
    conservation_jours: Annotated[StrictInt, Field(ge=1, le=365)] = 30
    suivi_apres_jours: Annotated[StrictInt, Field(ge=1, le=90)] = 7
    canaux: dict[Departement, ChannelSection] = {}
    secours: ChannelSection | None = None
    smtp: SmtpSection | None = None


class AdminSection(Section):
    """`admins:` the accounts that may use /stats, /nonrepondues and /reload in chat, and that
    are told when a reload finds errors."""

    telegram: list[StrictInt] = []  # Telegram user ids (e.g. from @userinfobot)
    matrix: list[Annotated[StrictStr, Field(pattern=MATRIX_USER_ID)]] = []


ADAPTER_SECTIONS = ("telegram", "matrix", "console")


class Config(Section):
    """The whole configuration. Build it with `load_config`; `Config()` is the defaults."""

    departement: Departement = "54"
    knowledge: Path = DEFAULT_KNOWLEDGE
    database: Path = Path("var/aiguillage.db")
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
    ] = "INFO"
    adapter: Literal["console", "telegram", "matrix"] = "console"
    dialogue: DialogueSettings = DialogueSettings()
    knowledge_watch: KnowledgeWatchSection = KnowledgeWatchSection()
    telegram: TelegramSection = TelegramSection()
    matrix: MatrixSection | None = None
    console: ConsoleSection = ConsoleSection()
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    conseillers: CounsellorSection = CounsellorSection()
    admins: AdminSection = AdminSection()

    @field_validator("knowledge", "database", mode="after")
    @classmethod
    def _relative_to_the_file(cls, value: Path, info: ValidationInfo) -> Path:
        value = value.expanduser()
        base = (info.context or {}).get("base")
        return value if value.is_absolute() or base is None else Path(base) / value

    @property
    def data_dir(self) -> Path:
        return self.database.parent

    @property
    def adapters(self) -> Mapping[str, Mapping[str, Any]]:
        """Each adapter's section as a mapping (validated; `{}` for a missing section)."""
        return {
            name: (section.model_dump(exclude_unset=True) if section is not None else {})
            for name in ADAPTER_SECTIONS
            for section in [getattr(self, name)]
        }

    def with_overrides(self, **changes: Any) -> Config:
        """The same settings with the given ones replaced (None: keep); validated again."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        values.update({k: v for k, v in changes.items() if v is not None})
        return validate_config(values, "options")


# --- reading the file ----------------------------------------------------------------------------


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars and duplicate keys refused."""


_YAML_BOOL = "tag:yaml.org,2002:bool"
_YAML_INT = "tag:yaml.org,2002:int"
_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_YAML_BOOL, _YAML_INT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ConfigLoader.add_implicit_resolver(
    _YAML_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_ConfigLoader.add_implicit_resolver(
    _YAML_INT,
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if text.startswith(("0o", "0x")):
        return int(text, 0)
    return int(text, 10)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.Node) -> dict[Any, Any]:
    assert isinstance(node, yaml.MappingNode)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, str | int | float | bool) and key is not None:
            continue  # an odd key: the validation of the section reports it
        if key in seen:
            line = key_node.start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"clé « {key} » en double (ligne {line}) / duplicate key", None
            )
        seen.add(key)
    return dict(loader.construct_mapping(node))


_ConfigLoader.add_constructor(_YAML_INT, _construct_int)
_ConfigLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def read_yaml(text: str) -> Any:
    """Parse config YAML with YAML 1.2 scalars (only true/false are booleans)."""
    return yaml.load(text, Loader=_ConfigLoader)  # a SafeLoader subclass


def load_config(path: Path | None) -> Config:
    """Read and validate a YAML config file; `None` gives the defaults (console, shipped KB)."""
    if path is None:
        return Config()
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path} : fichier de configuration introuvable. / Configuration file not found."
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"{path} : lecture impossible ({exc.strerror}). / Cannot read the file."
        ) from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path} : fichier trop gros (plus de 1 Mo). / File too large.")
    try:
        raw = read_yaml(data.decode("utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} : le fichier n'est pas en UTF-8 (octet {exc.start}). / Not UTF-8."
        ) from exc
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (ligne {where.line + 1}, colonne {where.column + 1})" if where else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path} : YAML mal formé{line} : {problem}. / Malformed YAML.") from exc
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path} : la configuration doit être un dictionnaire (clé: valeur). "
            "/ The configuration must be a mapping."
        )
    return validate_config(raw, str(path), base=path.parent)


def validate_config(raw: Mapping[str, Any], where: str, base: Path | None = None) -> Config:
    try:
        return Config.model_validate(dict(raw), context={"base": base})
    except ValidationError as exc:
        raise config_error(exc, where, Config) from None


# --- French messages from pydantic errors --------------------------------------------------------


def config_error(
    exc: ValidationError, where: str, model: type[BaseModel], prefix: str = ""
) -> ConfigError:
    """One ConfigError listing every problem of `exc`, each with its dotted key."""
    problems = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        key = ".".join(p for p in (prefix, *loc) if p)
        problems.append(f"{key or '(racine)'} : {_message(error, model, loc)}")
    if len(problems) == 1:
        return ConfigError(f"{where} : {problems[0]}", problems)
    lines = "\n".join(f"  - {p}" for p in problems)
    return ConfigError(f"{where} : {len(problems)} problèmes / problems :\n{lines}", problems)


def _message(error: Any, model: type[BaseModel], loc: tuple[str, ...]) -> str:
    kind = str(error["type"])
    given = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        hint = did_you_mean(loc[-1], known) if known else None
        extra = f" Vouliez-vous dire « {hint} » ?" if hint else ""
        names = f" Réglages possibles : {', '.join(sorted(known))}." if known else ""
        return f"réglage inconnu « {loc[-1]} ».{extra}{names} / Unknown setting."
    if kind == "missing":
        return "réglage obligatoire manquant. / Required setting missing."
    if kind == "aiguillage":
        return str(error["msg"])
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = did_you_mean(str(given), allowed) if isinstance(given, str) else None
        extra = f" Vouliez-vous dire « {hint} » ?" if hint else ""
        return (
            f"{_shown(given)} n'est pas une valeur possible ; valeurs possibles : "
            f"{', '.join(allowed)}.{extra} / Allowed values: {', '.join(allowed)}."
        )
    for kinds, template in _SIMPLE_MESSAGES:
        if kind in kinds:
            bound = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
            return template.format(given=_shown(given), bound=bound)
    if kind in ("string_too_short", "too_short"):
        return "la valeur ne peut pas être vide. / Must not be empty."
    if kind in ("string_too_long", "too_long"):
        return f"la valeur est trop longue (au plus {ctx.get('max_length')}). / Too long."
    if kind == "string_pattern_mismatch":
        if loc and loc[-1] == "user_id":
            return (
                "l'identifiant complet du compte est attendu, par exemple "
                "@aiguillage:example.org. / A full Matrix user id is expected."
            )
        return f"{_shown(given)} n'a pas la forme attendue. / Unexpected format."
    return f"{error['msg']}."


_SIMPLE_MESSAGES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("int_type", "int_parsing", "int_from_float"),
        "un nombre entier est attendu, sans guillemets (reçu {given}). / An integer is expected.",
    ),
    (
        ("float_type", "float_parsing"),
        "un nombre est attendu, sans guillemets (reçu {given}). / A number is expected.",
    ),
    (("string_type",), "un texte est attendu (reçu {given}). / A text is expected."),
    (
        ("bool_type", "bool_parsing"),
        "true ou false est attendu (reçu {given}). / true or false is expected.",
    ),
    (
        ("dict_type", "model_type", "model_attributes_type"),
        "un dictionnaire de réglages (clé: valeur) est attendu (reçu {given}). "
        "/ A mapping is expected.",
    ),
    (
        ("list_type",),
        "une liste est attendue, par exemple [a, b] (reçu {given}). / A list is expected.",
    ),
    (
        ("path_type", "path_parsing"),
        "un chemin de fichier ou de dossier est attendu (reçu {given}). / A path is expected.",
    ),
    (
        ("greater_than_equal", "greater_than"),
        "la valeur doit être au moins {bound} (reçu {given}). / Too small.",
    ),
    (
        ("less_than_equal", "less_than"),
        "la valeur doit être au plus {bound} (reçu {given}). / Too large.",
    ),
)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (un booléen YAML : mettez le mot entre guillemets)"
    if isinstance(value, str):
        return f"le texte « {value[:60]} »"
    if isinstance(value, dict):
        return "un dictionnaire"
    if isinstance(value, list):
        return "une liste"
    if value is None:
        return "une valeur vide"
    return f"« {str(value)[:60]} »"


def _fields_at(model: type[BaseModel], path: tuple[str, ...]) -> list[str]:
    """The setting names of the section at `path` inside `model` (for did-you-mean)."""
    current: Any = model
    for part in path:
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            return []
        current = _model_in(fields[part].annotation)
        if current is None:
            return []
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None:
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
