//! Flags of the exporters that send telemetry out of the process (OpenTelemetry metrics,
//! Langfuse traces) and the switch that turns them all off. Every exporter is off unless
//! enabled; nothing is sent anywhere by default.

use std::fmt;

/// Where OpenTelemetry metrics go.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricsExporter {
    /// OTLP/HTTP protobuf, POSTed to the endpoint.
    #[default]
    #[value(name = "otlp_http")]
    OtlpHttp,
    /// One JSON line per export on stdout.
    Console,
}

/// Command-line options.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TelemetryArgs {
    /// Send no telemetry anywhere: the OpenTelemetry and Langfuse exporters stay off even when
    /// enabled. `HEADROOM_TELEMETRY=off` does the same.
    #[arg(long)]
    pub no_telemetry: bool,
    /// `off` turns every exporter off (as `--no-telemetry`); `on` (the default) lets the
    /// enabled ones run.
    #[arg(long, env = "HEADROOM_TELEMETRY", value_parser = ["on", "off"], hide_possible_values = true)]
    pub telemetry: Option<String>,
    /// The client SDK or integration driving the proxy (`python`, `typescript`, `wrap-claude`):
    /// tags request-log lines, the OpenTelemetry resource and Langfuse traces. Letters,
    /// digits, `.`, `_`, `-`; at most 32.
    #[arg(long, env = "HEADROOM_SDK", value_parser = parse_sdk)]
    pub sdk: Option<String>,
    /// Export the `/metrics` instruments as OpenTelemetry metrics.
    #[arg(long, env = "HEADROOM_OTEL_METRICS_ENABLED", value_parser = clap::builder::BoolishValueParser::new())]
    pub otel_metrics_enabled: bool,
    /// Where they go.
    #[arg(long, env = "HEADROOM_OTEL_METRICS_EXPORTER", value_enum, default_value = "otlp_http")]
    pub otel_metrics_exporter: MetricsExporter,
    /// The OTLP/HTTP metrics URL.
    #[arg(long, env = "HEADROOM_OTEL_METRICS_ENDPOINT", default_value = "http://localhost:4318/v1/metrics")]
    pub otel_metrics_endpoint: String,
    /// Export period, milliseconds.
    #[arg(long, env = "HEADROOM_OTEL_METRICS_INTERVAL_MS", default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub otel_metrics_interval_ms: u64,
    /// `service.name` of the OpenTelemetry resource (metrics and traces).
    #[arg(long, env = "HEADROOM_OTEL_SERVICE_NAME", default_value = "headroom")]
    pub otel_service_name: String,
    /// Send one trace per request (compression stages and transforms, token counts; never
    /// content) to Langfuse.
    #[arg(long, env = "HEADROOM_LANGFUSE_ENABLED", value_parser = clap::builder::BoolishValueParser::new())]
    pub langfuse_enabled: bool,
    /// Langfuse public key.
    #[arg(long, env = "LANGFUSE_PUBLIC_KEY", hide_env_values = true)]
    pub langfuse_public_key: Option<String>,
    /// Langfuse secret key.
    #[arg(long, env = "LANGFUSE_SECRET_KEY", hide_env_values = true)]
    pub langfuse_secret_key: Option<String>,
    /// Langfuse base URL; traces go to `<url>/api/public/otel/v1/traces`.
    #[arg(long, env = "LANGFUSE_BASE_URL", default_value = "https://cloud.langfuse.com")]
    pub langfuse_base_url: String,
}

fn parse_sdk(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok { Ok(s.to_owned()) } else { Err("letters, digits, '.', '_' or '-', at most 32".into()) }
}

/// A credential: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The OpenTelemetry metrics exporter, resolved.
#[derive(Debug, Clone)]
pub struct OtelMetricsConfig {
    /// Where.
    pub exporter: MetricsExporter,
    /// The OTLP/HTTP URL.
    pub endpoint: String,
    /// Export period.
    pub interval: std::time::Duration,
}

/// The Langfuse exporter, resolved.
#[derive(Debug, Clone)]
pub struct LangfuseConfig {
    /// `<base>/api/public/otel/v1/traces`.
    pub endpoint: String,
    /// `Basic base64(public:secret)`.
    pub authorization: Secret,
}

/// What goes out of the process.
#[derive(Debug, Clone, Default)]
pub struct TelemetryConfig {
    /// `--no-telemetry` / `HEADROOM_TELEMETRY=off`.
    pub disabled: bool,
    /// `HEADROOM_SDK`.
    pub sdk: Option<String>,
    /// `service.name`.
    pub service_name: String,
    /// OpenTelemetry metrics, when enabled and telemetry is on.
    pub metrics: Option<OtelMetricsConfig>,
    /// Langfuse traces, when enabled and telemetry is on.
    pub langfuse: Option<LangfuseConfig>,
}

/// A bad combination of telemetry settings.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// Langfuse enabled without its keys.
    #[error("HEADROOM_LANGFUSE_ENABLED needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY")]
    LangfuseKeys,
    /// An endpoint that is not an http(s) URL.
    #[error("{0} is not an http:// or https:// URL")]
    BadUrl(String),
}

impl TelemetryArgs {
    /// Resolve (and check) the settings.
    pub fn resolve(&self) -> Result<TelemetryConfig, TelemetryError> {
        let disabled = self.no_telemetry || self.telemetry.as_deref() == Some("off");
        let http = |u: &str| {
            if u.starts_with("http://") || u.starts_with("https://") {
                Ok(u.to_owned())
            } else {
                Err(TelemetryError::BadUrl(u.to_owned()))
            }
        };
        let metrics = if self.otel_metrics_enabled && !disabled {
            Some(OtelMetricsConfig {
                exporter: self.otel_metrics_exporter,
                endpoint: http(&self.otel_metrics_endpoint)?,
                interval: std::time::Duration::from_millis(self.otel_metrics_interval_ms),
            })
        } else {
            None
        };
        let langfuse = if self.langfuse_enabled && !disabled {
            let nonempty = |k: &Option<String>| k.clone().filter(|k| !k.is_empty());
            let (Some(public), Some(secret)) =
                (nonempty(&self.langfuse_public_key), nonempty(&self.langfuse_secret_key))
            else {
                return Err(TelemetryError::LangfuseKeys);
            };
            let base = http(self.langfuse_base_url.trim_end_matches('/'))?;
            Some(LangfuseConfig {
                endpoint: format!("{base}/api/public/otel/v1/traces"),
                authorization: Secret(format!("Basic {}", base64(format!("{public}:{secret}").as_bytes()))),
            })
        } else {
            None
        };
        Ok(TelemetryConfig {
            disabled,
            sdk: self.sdk.clone(),
            service_name: self.otel_service_name.clone(),
            metrics,
            langfuse,
        })
    }
}

/// Standard base64 with padding (the Basic auth header; one use, no dependency).
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn no_telemetry_wins_over_enabled_exporters_and_keys_are_required() {
        let mut a = TelemetryArgs {
            otel_metrics_enabled: true,
            otel_metrics_endpoint: "http://127.0.0.1:1/v1/metrics".into(),
            otel_metrics_interval_ms: 1000,
            langfuse_enabled: true,
            langfuse_base_url: "http://127.0.0.1:1/".into(),
            ..TelemetryArgs::default()
        };
        assert!(matches!(a.resolve(), Err(TelemetryError::LangfuseKeys)));
        a.langfuse_public_key = Some("pk".into());
        a.langfuse_secret_key = Some("sk".into());
        let c = a.resolve().unwrap();
        assert_eq!(c.langfuse.as_ref().unwrap().endpoint, "http://127.0.0.1:1/api/public/otel/v1/traces");
        assert_eq!(c.langfuse.as_ref().unwrap().authorization.0, "Basic cGs6c2s=");
        assert!(!format!("{c:?}").contains("cGs6c2s"), "the header never prints");
        assert!(c.metrics.is_some());
        a.telemetry = Some("off".into());
        let c = a.resolve().unwrap();
        assert!(c.disabled && c.metrics.is_none() && c.langfuse.is_none());
        a.telemetry = None;
        a.no_telemetry = true;
        assert!(a.resolve().unwrap().langfuse.is_none());
    }
}
