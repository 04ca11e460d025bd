//! `plugin.toml`: what a plugin is, what it claims, where it runs and the limits it runs
//! under, and the self-test a host runs before it goes live. Every host admits plugins
//! through this one implementation (natively, or through the component's `admission`
//! export), so a manifest one host accepts no other refuses. Unknown fields are errors that
//! name the field.

use serde::Deserialize;

use super::{Placement, PluginInfo, PluginOutcome, check};
use crate::kind::ContentKind;

/// The world (and version) hosts run plugins of.
pub const WORLD: &str = "headroom:plugin/plugin@0.1.0";

/// A plugin's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Stable identifier: lower-case letters, digits and `-`.
    pub id: String,
    /// The plugin's own version.
    pub version: String,
    /// The WIT world and version it implements (`headroom:plugin/plugin@0.1.0`).
    pub world: String,
    /// sha256 of `plugin.wasm`, hex (added by `just plugins`).
    pub sha256: String,
    /// Kinds it is offered: built-in names, `other:<name>` for kinds it detects itself, or
    /// `*` for every kind.
    pub kinds: Vec<String>,
    /// Whether it may drop information (behind markers; the host stores the originals).
    pub lossy: bool,
    /// `before`, `instead` or `after` the built-in transforms.
    pub placement: String,
    /// Per-call limits.
    pub limits: Limits,
    /// The load-time check.
    pub self_test: SelfTest,
}

/// Per-call limits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Fuel per call (about one unit per wasm instruction); absent for no fuel limit.
    pub fuel: Option<u64>,
    /// Wall-clock budget per call, in milliseconds (1 to 10000).
    pub deadline_ms: u64,
    /// Linear memory a call may grow to, in 64 KiB pages (1 to 16384).
    pub memory_pages: u32,
}

/// A sample the host runs the plugin on before it goes live.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfTest {
    /// File in the plugin's folder.
    pub sample: String,
    /// The kind it is handed as.
    pub kind: String,
    /// `rewritten` or `declined`; absent for either.
    pub expect: Option<String>,
}

/// Why a plugin was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdmitError {
    /// The manifest is not valid (unknown fields are named).
    Manifest(String),
    /// The manifest targets a world version hosts do not run.
    WrongWorld {
        /// The plugin.
        id: String,
        /// What its manifest names.
        world: String,
    },
    /// The component's sha256 is not the manifest's.
    HashMismatch {
        /// The plugin.
        id: String,
        /// The manifest's hash.
        expected: String,
        /// The component's.
        actual: String,
    },
}

impl std::fmt::Display for AdmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Manifest(why) => write!(f, "invalid manifest: {why}"),
            Self::WrongWorld { id, world } => {
                write!(f, "plugin {id}: targets {world}, this host runs {WORLD}")
            }
            Self::HashMismatch { id, expected, actual } => {
                write!(f, "plugin {id}: sha256 mismatch: manifest {expected}, component {actual}")
            }
        }
    }
}

/// Parse a manifest and check it against the sha256 (hex) of the component it came with.
pub fn admit(text: &str, component_sha256: &str) -> Result<Manifest, AdmitError> {
    let m = Manifest::parse(text).map_err(AdmitError::Manifest)?;
    if m.world != WORLD {
        return Err(AdmitError::WrongWorld { id: m.id, world: m.world });
    }
    if !component_sha256.eq_ignore_ascii_case(&m.sha256) {
        return Err(AdmitError::HashMismatch {
            id: m.id,
            expected: m.sha256,
            actual: component_sha256.to_ascii_lowercase(),
        });
    }
    Ok(m)
}

impl Manifest {
    /// Parse and check a manifest (the world and the hash are checked by [`admit`]).
    pub fn parse(text: &str) -> Result<Self, String> {
        let m: Manifest = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        if m.id.is_empty() || !m.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!("id {:?}: use lower-case letters, digits and -", m.id));
        }
        if m.sha256.len() != 64 || !m.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("sha256: 64 hex digits expected".into());
        }
        m.kinds()?;
        let placement = m.placement()?;
        if placement == Placement::Before && m.lossy {
            return Err(
                "placement before: a filter's edits cannot be retrieved, so lossy must be false".into()
            );
        }
        if !(1..=10_000).contains(&m.limits.deadline_ms) {
            return Err("limits.deadline_ms: 1 to 10000".into());
        }
        if !(1..=16_384).contains(&m.limits.memory_pages) {
            return Err("limits.memory_pages: 1 to 16384".into());
        }
        if let Some(e) = &m.self_test.expect
            && e != "rewritten"
            && e != "declined"
        {
            return Err(format!("self_test.expect {e:?}: rewritten or declined"));
        }
        parse_kind(&m.self_test.kind).map_err(|e| format!("self_test.kind: {e}"))?;
        if m.self_test.sample.contains(['/', '\\']) || m.self_test.sample.starts_with('.') {
            return Err("self_test.sample: a file name in the plugin's folder".into());
        }
        Ok(m)
    }

    /// The kinds offered (empty for every kind).
    pub fn kinds(&self) -> Result<Vec<ContentKind>, String> {
        if self.kinds.is_empty() {
            return Err("kinds: name at least one kind, or \"*\"".into());
        }
        if self.kinds.iter().any(|k| k == "*") {
            return if self.kinds.len() == 1 {
                Ok(Vec::new())
            } else {
                Err("kinds: \"*\" stands alone".into())
            };
        }
        self.kinds.iter().map(|k| parse_kind(k).map_err(|e| format!("kinds: {e}"))).collect()
    }

    /// Where it runs.
    pub fn placement(&self) -> Result<Placement, String> {
        match self.placement.as_str() {
            "before" => Ok(Placement::Before),
            "instead" => Ok(Placement::Instead),
            "after" => Ok(Placement::After),
            other => Err(format!("placement {other:?}: before, instead or after")),
        }
    }

    /// The plugin as the engine's routing sees it (its build is the component's sha256).
    pub fn info(&self) -> Result<PluginInfo, String> {
        Ok(PluginInfo {
            id: self.id.clone(),
            kinds: self.kinds()?,
            placement: self.placement()?,
            lossy: self.lossy,
            build: self.sha256.to_ascii_lowercase(),
        })
    }
}

/// A kind from its name as manifests write it.
pub fn parse_kind(name: &str) -> Result<ContentKind, String> {
    Ok(match name {
        "json" => ContentKind::Json,
        "log" => ContentKind::Log,
        "search" => ContentKind::Search,
        "diff" => ContentKind::Diff,
        "code" => ContentKind::Code,
        "stack-trace" => ContentKind::StackTrace,
        "test-output" => ContentKind::TestOutput,
        "listing" => ContentKind::Listing,
        "prose" => ContentKind::Prose,
        other => match other.strip_prefix("other:") {
            Some(n) if !n.is_empty() => ContentKind::Other(n.to_owned()),
            _ => return Err(format!("unknown kind {other:?} (built-in names, or other:<name>)")),
        },
    })
}

/// The name of a kind as manifests write it.
pub fn kind_name(kind: &ContentKind) -> String {
    match kind {
        ContentKind::Other(n) => format!("other:{n}"),
        k => k.name().to_owned(),
    }
}

/// Judge a plugin's answer to its self-test (handed `sample` under the key
/// [`crate::offload::key_for`] gives it, with `context.lossy` = the manifest's `lossy`): a
/// rewrite must pass the checks every answer passes, and the answer must be the one the
/// manifest expects. `Err` says why the plugin is refused.
pub fn judge_self_test(m: &Manifest, sample: &str, answer: &PluginOutcome) -> Result<(), String> {
    let got = match answer {
        PluginOutcome::Rewritten { text, lossy, .. } => {
            let key = crate::offload::key_for(sample);
            check(sample, &key, text, *lossy, m.lossy, m.placement()?)
                .map_err(|r| format!("output refused: {r}"))?;
            "rewritten"
        }
        PluginOutcome::Declined(_) => "declined",
    };
    match &m.self_test.expect {
        Some(expect) if expect != got => Err(format!("expected {expect}, the plugin {got} the sample")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
id = "csv-table"
version = "0.1.0"
world = "headroom:plugin/plugin@0.1.0"
kinds = ["other:csv", "log"]
lossy = true
placement = "instead"
[limits]
fuel = 1000
deadline_ms = 50
memory_pages = 16
[self_test]
sample = "s.csv"
kind = "other:csv"
"#;
    const ZERO: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn a_good_manifest_parses() {
        let m = Manifest::parse(GOOD).expect("valid");
        let kinds: Vec<String> = m.kinds().expect("kinds").iter().map(kind_name).collect();
        assert_eq!(kinds, ["other:csv", "log"]);
        assert_eq!(m.limits.memory_pages, 16);
        assert_eq!(admit(GOOD, ZERO).expect("admitted").info().expect("info").placement, Placement::Instead);
    }

    #[test]
    fn unknown_fields_are_named() {
        let e = Manifest::parse(&format!("{GOOD}colour = \"red\"\n")).expect_err("unknown field");
        assert!(e.contains("colour"), "{e}");
        let e = Manifest::parse(&GOOD.replace("fuel = 1000", "fuel = 1000\nstack = 5")).expect_err("unknown");
        assert!(e.contains("stack"), "{e}");
    }

    #[test]
    fn bad_values_are_explained() {
        for (from, to, says) in [
            ("placement = \"instead\"", "placement = \"around\"", "placement"),
            ("\"other:csv\", \"log\"", "\"tables\"", "unknown kind"),
            ("\"other:csv\", \"log\"", "\"*\", \"log\"", "stands alone"),
            ("id = \"csv-table\"", "id = \"CSV Table\"", "id"),
            ("deadline_ms = 50", "deadline_ms = 0", "deadline_ms"),
            ("placement = \"instead\"", "placement = \"before\"", "lossy must be false"),
        ] {
            let e = Manifest::parse(&GOOD.replace(from, to)).expect_err(says);
            assert!(e.contains(says), "{says}: {e}");
        }
    }

    #[test]
    fn the_world_and_the_hash_are_checked() {
        let other = GOOD.replace("plugin@0.1.0", "plugin@0.2.0");
        assert!(matches!(admit(&other, ZERO), Err(AdmitError::WrongWorld { .. })));
        let e = admit(GOOD, &"1".repeat(64)).expect_err("hash");
        assert!(matches!(e, AdmitError::HashMismatch { .. }), "{e}");
    }

    #[test]
    fn a_self_test_answer_is_judged_by_the_engine_s_checks() {
        let m = Manifest::parse(
            &GOOD.replace("kind = \"other:csv\"", "kind = \"other:csv\"\nexpect = \"rewritten\""),
        )
        .expect("valid");
        let sample = "a,b\n1,2\n1,2\n1,2\n";
        let ok = PluginOutcome::Rewritten { text: "a,b\n1,2\n".into(), summary: "s".into(), lossy: false };
        assert_eq!(judge_self_test(&m, sample, &ok), Ok(()));
        let bigger = PluginOutcome::Rewritten { text: sample.repeat(2), summary: "s".into(), lossy: false };
        assert!(judge_self_test(&m, sample, &bigger).expect_err("larger").contains("refused"));
        let declined = PluginOutcome::Declined("no".into());
        assert!(judge_self_test(&m, sample, &declined).expect_err("expect").contains("expected rewritten"));
    }
}
