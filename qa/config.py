"""Settings of the QA package, read from the environment with the ``CALLCENTER_QA_`` prefix: how often the
web process samples the current week's calls (``qa.scheduler``). The center's time zone is the
application's (``core.config.Settings.timezone``), not repeated here.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class QaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_QA_", env_file=None, extra="ignore")

    sampling_interval_s: float = Field(
        default=0.0,
        ge=0,
        description="Seconds between two sampling passes over the current week; "
        "0 = no scheduled sampling (a QA manager runs it by hand).",
    )

    @property
    def sampling_enabled(self) -> bool:
        return self.sampling_interval_s > 0
