"""Settings of the recording package, read from the environment with the ``CALLCENTER_RECORDING_`` prefix:
where the PBX writes its WAVs (the spool), which store keeps the compressed audio (a local folder or an
S3-compatible bucket), the default policy and retention, and the worker's pace.

``data_dir`` comes from the application's ``core.config.Settings`` (``RecordingSettings.from_app``): the
defaults are ``<data_dir>/recordings`` for the local store and ``<data_dir>/monitor`` for the spool.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.config import Settings
from recording.models import RecordingMode


class RecordingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_RECORDING_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("./data"), description="Taken from CALLCENTER_DATA_DIR (from_app).")
    store: Literal["local", "s3"] = Field(default="local", description="Where compressed audio is kept.")
    local_root: Path | None = Field(
        default=None, description="Local store folder; unset: DATA_DIR/recordings."
    )
    s3_bucket: str | None = Field(default=None, description="S3 bucket (store=s3).")
    s3_endpoint: str | None = Field(default=None, description="S3-compatible endpoint URL (MinIO, Ceph …).")
    s3_region: str | None = Field(default=None, description="S3 region name.")
    s3_access_key: str | None = Field(default=None, description="Unset: boto3's own credential chain.")
    s3_secret_key: str | None = Field(default=None, description="Unset: boto3's own credential chain.")
    s3_prefix: str = Field(default="", description="Prefix of every object key in the bucket.")
    spool_dir: Path | None = Field(
        default=None, description="Where the PBX writes MixMonitor WAVs; unset: DATA_DIR/monitor."
    )
    retention_days: int = Field(default=365, ge=1, description="Days audio is kept unless a queue says else.")
    default_mode: RecordingMode = Field(
        default=RecordingMode.ALL, description="Policy of a queue without its own: all / none / share."
    )
    default_share_pct: int = Field(default=100, ge=0, le=100, description="Share recorded in share mode.")
    grace_seconds: float = Field(
        default=120.0,
        gt=0,
        description="A WAV untouched this long is finished even if its call end was missed.",
    )
    scan_interval: float = Field(default=10.0, gt=0, description="Seconds between two scans of the spool.")
    retention_interval: float = Field(default=3600.0, gt=0, description="Seconds between retention passes.")
    end_delay: float = Field(
        default=2.0, ge=0, description="Seconds after a call ends before its WAV is read (the PBX closes it)."
    )
    bitrate: str = Field(default="32k", description="MP3 bitrate of the stored audio.")
    remove_source: bool = Field(default=True, description="Delete the spool WAV once its audio is stored.")
    missing_lookback_days: int = Field(
        default=2, ge=1, description="How far back ended calls are checked for a recording that never came."
    )

    @classmethod
    def from_app(cls, settings: Settings, **overrides: Any) -> RecordingSettings:
        """The recording settings of an application (its data folder), environment and ``overrides``."""
        return cls(data_dir=settings.data_dir, **overrides)

    @property
    def recordings_root(self) -> Path:
        return self.local_root or self.data_dir / "recordings"

    @property
    def spool(self) -> Path:
        return self.spool_dir or self.data_dir / "monitor"
