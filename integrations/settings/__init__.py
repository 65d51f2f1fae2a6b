"""The one settings object of Fenghuo.

Every knob is read here, from the environment (prefix ``FENGHUO_``) or a ``.env`` file, and nowhere else:
no other module reads ``os.environ``. Secrets are :class:`pydantic.SecretStr` so they never print.
The fields live in :mod:`.model`, the secrets production refuses in :mod:`.secrets`, and the process
environment Prefect reads in :mod:`.process`.
"""

from integrations.settings.model import (
    PACKAGE_ROOT,
    Language,
    Settings,
    TotpTier,
    get_settings,
    settings_problem,
)
from integrations.settings.process import child_env, export_env, quiet_prefect
from integrations.settings.secrets import (
    DEVELOPMENT_OIDC_SECRET,
    DEVELOPMENT_SECRETS,
    MIN_SECRET_BYTES,
    Environment,
    InsecureSettingsError,
)

__all__ = [
    "DEVELOPMENT_OIDC_SECRET", "DEVELOPMENT_SECRETS", "MIN_SECRET_BYTES", "PACKAGE_ROOT", "Environment",
    "InsecureSettingsError", "Language", "Settings", "TotpTier", "child_env", "export_env", "get_settings",
    "quiet_prefect", "settings_problem",
]
