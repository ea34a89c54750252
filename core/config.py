"""Settings, read from the environment with the ``CALLCENTER_`` prefix (every one documented in README)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("./data"), description="SQLite database, recordings, prompts.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset means SQLite at DATA_DIR/callcenter.db."
    )
    redis_url: str | None = Field(default=None, description="Unset: the in-process event bus.")
    timezone: str = Field(default="Asia/Shanghai", description="The center's time zone for display.")
    default_language: str = Field(default="zh-CN", description="UI language when the user chose none.")
    phone_region: str = Field(default="CN", description="Region for phone numbers written without +.")
    host: str = "127.0.0.1"
    port: int = 8000
    session_hours: int = Field(default=12, description="A login lasts this long without activity.")
    cookie_secure: bool = Field(default=False, description="Send the session cookie over HTTPS only.")
    complaint_deadline_hours_very_urgent: int = 24
    complaint_deadline_hours_urgent: int = 72
    complaint_deadline_hours_normal: int = 168
    ring_cycle_seconds: float = Field(default=5.0, description="One ring cycle (China: 1 s on, 4 s off).")
    ami_host: str | None = Field(default=None, description="Asterisk's AMI host; unset: no PBX link.")
    ami_port: int = 5038
    ami_username: str = "callcenter"
    ami_secret: str = Field(default="", description="The AMI user's secret (manager.conf).")
    queue_log: Path | None = Field(
        default=None, description="Asterisk's queue_log file, followed to complete calls the link missed."
    )
    pause_reasons: list[str] = Field(
        default=["休息", "就餐", "培训", "会议"], description="Reasons an agent may pause with (JSON list)."
    )
    simulator: str | None = Field(
        default=None, description="Run the PBX simulator in-process with this scenario (demo: 'demo')."
    )
    service_level_target_percent: int = Field(
        default=80, ge=1, le=100, description="Service-level target (%) of a queue not named below."
    )
    service_level_targets: dict[str, int] = Field(
        default={}, description='Per-queue service-level targets in %, e.g. {"vip": 90} (JSON).'
    )
    service_level_threshold_seconds: int = Field(
        default=20, ge=1, description="Reports: service-level threshold T (s) of a queue not named below."
    )
    service_level_thresholds: dict[str, int] = Field(
        default={}, description='Reports: per-queue service-level thresholds in seconds, e.g. {"vip": 10}.'
    )
    service_level_variant: str = Field(
        default="answered_abandoned",
        pattern="^(answered|answered_abandoned|offered)$",
        description="Reports: service-level formula of a queue not named below (answered, "
        "answered_abandoned or offered).",
    )
    service_level_variants: dict[str, str] = Field(
        default={}, description='Reports: per-queue service-level formula, e.g. {"vip": "offered"} (JSON).'
    )
    short_abandon_seconds: int = Field(
        default=5,
        ge=0,
        description="Reports: an abandon within this many seconds is a short abandon (0: none).",
    )
    exclude_short_abandons: bool = Field(
        default=True, description="Reports: leave short abandons out of the service level's denominator."
    )
    wait_alert_seconds: int = Field(
        default=60, ge=1, description="The wallboard alerts when a caller has waited longer than this."
    )
    transfer_context: str = Field(
        default="from-internal", description="Dialplan context a transfer to an extension is sent to."
    )
    queue_context: str = Field(
        default="queues", description="Dialplan context a transfer to a queue is sent to."
    )
    outbound_context: str = Field(
        default="from-internal", description="Dialplan context that dials out for click-to-dial."
    )
    transfer_departments: dict[str, str] = Field(
        default={"投诉处理部": "1900", "技术支持部": "1901", "财务部": "1902"},
        description="Departments a call can be transferred to: name → extension (JSON).",
    )
    queue_skills: dict[str, str] = Field(
        default={},
        description="Queue → the skill an agent needs to log in to it (JSON); other queues: open to all.",
    )
    agi_host: str = Field(default="127.0.0.1", description="Where the IVR's FastAGI server listens.")
    agi_port: int | None = Field(
        default=None,
        description="The IVR's FastAGI port (Asterisk: 4573); unset: not started (the demo starts it).",
    )
    queues_conf: Path | None = Field(
        default=None, description="Asterisk's queues.conf, for wrap-up times and service-level thresholds."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone name
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'callcenter.db').resolve()}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
