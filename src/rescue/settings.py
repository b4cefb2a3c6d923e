"""One settings object, read from RESCUE_* environment variables and CLI flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rescue.domain.dispatch import DispatchParams
from rescue.logs import LogFormat, LogLevel


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RESCUE_", extra="ignore")

    db: str = Field(
        "sqlite:///var/rescue.db", description="store URL: sqlite:///path or postgresql://..."
    )
    cipher_key: SecretStr | None = Field(None, description="AES key (base64) sealing callers' data")
    key_file: Path | None = Field(None, description="file holding the AES key")
    host: str = Field("127.0.0.1", description="address `rescue serve` listens on")
    port: int = Field(8000, description="port `rescue serve` listens on")

    # Dispatch
    recommendations: int = Field(5, ge=1, le=50, description="vans recommended for a call")
    offer_timeout_s: float = Field(
        90.0, gt=0, description="an unanswered offer moves on after this"
    )
    position_max_age_s: float = Field(
        900.0, gt=0, description="older GPS: measure from home station"
    )
    circuity: float = Field(1.3, ge=1.0, description="road km per straight-line km")
    speed_kmh: float = Field(50.0, gt=0, description="average rescue driving speed")
    max_dispatch_km: float = Field(500.0, gt=0, description="vans further away are not candidates")
    likely_parts: Path | None = Field(
        None, description="JSON table of likely parts by fault and model series (default: shipped)"
    )
    parts_margin_min: float = Field(
        15.0, ge=0, description="a van carrying the likely parts goes first if at most this later"
    )
    parts_candidates: int = Field(
        15, ge=1, le=200, description="nearest vans whose stock is checked for the likely parts"
    )

    # Spare parts: ABC classes and the (T, S) ordering policy (rescue.domain.replenishment)
    abc_a_share: float = Field(0.80, gt=0, le=1, description="class A: the first ~80% of value")
    abc_b_share: float = Field(0.95, gt=0, le=1, description="class B: up to ~95% of value")
    review_days: int = Field(7, ge=1, le=365, description="T: days between stock reviews")
    lead_time_days: int = Field(3, ge=0, le=365, description="days from order to parts on hand")
    service_level: float = Field(0.95, ge=0.5, lt=1, description="target chance of no stock-out")
    forecast_alpha: float = Field(0.3, gt=0, le=1, description="smoothing weight of the newest day")
    service_interval_km: float = Field(
        10_000.0, gt=0, description="a van is due for its own service after this distance"
    )
    service_due_within_km: float = Field(
        500.0, ge=0, description="the console's due list shows vans due within this distance"
    )

    # Travel times learned from completed trips (rescue.services.eta)
    eta_min_trips: int = Field(
        30, ge=1, description="trips a cell needs before its fitted pace is used"
    )
    eta_refit_h: float = Field(
        24.0, ge=0, description="a server refits the ETA model this often (0: never)"
    )
    eta_refresh_s: float = Field(
        30.0, ge=0, description="how long a process keeps the ETA model before reading it again"
    )

    arrival_margin_min: float = Field(
        15.0, ge=0, description="a van not on scene by ETA plus this raises an alert"
    )

    # Positions
    position_future_tolerance_s: float = Field(
        120.0, ge=0, description="a GPS fix further ahead of the server's clock is refused"
    )
    max_positions_per_request: int = Field(
        1000, ge=1, description="GPS fixes one request may carry"
    )
    tracker_max_fix_age_s: float = Field(
        7 * 86_400.0, gt=0, description="older tracker fixes are acknowledged but refused"
    )

    # Live feeds
    ws_queue_limit: int = Field(
        2000, ge=1, description="frames queued for one socket before it is coalesced, then dropped"
    )

    # After-sales (rescue.services.aftersales)
    followup_delay_h: float = Field(
        24.0, gt=0, description="the follow-up call is due this long after completion"
    )
    followup_retry_h: float = Field(
        2.0, gt=0, description="a customer not reached is called again after this"
    )
    complaint_answer_h: float = Field(
        24.0, gt=0, description="an unanswered complaint escalates after this"
    )

    # Access
    rate_limit_per_s: float = Field(
        100.0, gt=0, description="requests per second each account may make on average"
    )
    rate_limit_burst: float = Field(200.0, ge=1, description="requests an account may burst")

    # Background work
    timer_interval_s: float = Field(
        1.0, gt=0, description="how often offer timeouts, the queue and escalations are checked"
    )

    # The customer's tracking link (rescue.services.tracking_links)
    public_url: str | None = Field(
        None, description="the server's address as customers reach it, e.g. https://rescue.example"
    )
    tracking_secret: SecretStr | None = Field(
        None, description="derives customers' link codes (default: from the cipher key)"
    )
    tracking_rate_per_s: float = Field(
        1.0, gt=0, description="requests per second one client address may make to /t/ pages"
    )
    tracking_rate_burst: float = Field(
        30.0, ge=1, description="requests one client address may burst to /t/ pages"
    )

    # Messages to customers (rescue.services.notifications): none are sent without a URL
    sms_url: str | None = Field(None, description="the HTTP SMS gateway's send URL")
    sms_username: str | None = Field(None, description="HTTP basic auth user of the gateway")
    sms_password: SecretStr | None = Field(None, description="HTTP basic auth password")
    sms_token: SecretStr | None = Field(None, description="bearer token of the gateway")
    sms_templates: dict[str, str] = Field(
        default_factory=dict, description="JSON: template name -> text, replacing the zh-CN ones"
    )
    sms_timeout_s: float = Field(10.0, gt=0, description="a gateway answer waited for")

    # Deliveries that follow the log (SMS outbox, webhooks; rescue.services.delivery)
    webhook_timeout_s: float = Field(5.0, gt=0, description="a webhook answer waited for")
    delivery_backoff_s: float = Field(0.5, gt=0, description="the first retry's delay")
    delivery_backoff_max_s: float = Field(60.0, gt=0, description="the longest retry delay")
    delivery_failing_after: int = Field(
        5, ge=1, description="failed attempts in a row before a target is marked failing"
    )
    delivery_lease_s: float = Field(
        15.0, gt=0, description="how long a dead process holds a target before another takes it"
    )

    # Photos as evidence (rescue.store.photos)
    photos_dir: Path | None = Field(
        None,
        description="where photo bytes are kept; default beside the SQLite file "
        "(var/rescue.db -> var/rescue.db.photos), or var/photos for PostgreSQL",
    )
    # ... or in a bucket of an S3-compatible object store (rescue.store.s3_photos)
    photos_s3_bucket: str | None = Field(
        None,
        description="keep photo bytes in this S3 bucket instead of a directory"
        " (unset: the directory RESCUE_PHOTOS_DIR)",
    )
    photos_s3_url: str | None = Field(
        None,
        description="the S3-compatible store's endpoint, e.g. https://minio.internal:9000"
        " (unset: AWS S3 itself)",
    )
    photos_s3_prefix: str = Field(
        "", description="key prefix of the photos in the bucket, e.g. rescue/photos/"
    )
    photos_s3_region: str | None = Field(
        None, description="the bucket's region (unset: boto3's default, AWS_DEFAULT_REGION)"
    )
    photos_s3_access_key: SecretStr | None = Field(
        None,
        description="S3 access key id (unset: boto3's usual credentials: AWS_* variables,"
        " ~/.aws, an instance role)",
    )
    photos_s3_secret_key: SecretStr | None = Field(
        None, description="S3 secret access key (with RESCUE_PHOTOS_S3_ACCESS_KEY)"
    )

    # Logs of `rescue serve` (rescue.logs); `rescue demo` keeps its own readable output
    log_level: LogLevel = Field("INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL")
    log_format: LogFormat = Field("json", description="json (one object a line) or text")

    # Pages (rescue.api.pages) and the warranty table (rescue.domain.warranty)
    tile_url: str | None = Field(
        None,
        description="map tiles under the pages' maps, e.g. https://tiles.example/{z}/{x}/{y}.png"
        " (unset: the offline basemap)",
    )
    tablet_position_s: float = Field(
        10.0, gt=0, description="how often a tablet sends its GPS position"
    )
    warranty_policy: Path | None = Field(
        None,
        description="a JSON warranty table replacing the packaged one"
        " (read by rescue.domain.warranty)",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_capitals(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_in_lower_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    def dispatch_params(self) -> DispatchParams:
        return DispatchParams(
            position_max_age_s=self.position_max_age_s,
            circuity=self.circuity,
            speed_kmh=self.speed_kmh,
            k=self.recommendations,
        )

    def resolved_key(self) -> str | None:
        if self.cipher_key is not None:
            return self.cipher_key.get_secret_value()
        if self.key_file is not None and self.key_file.exists():
            return self.key_file.read_text().strip()
        return None
