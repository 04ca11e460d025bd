//! Model prices: an embedded table for current Anthropic and OpenAI models, resolution of the
//! names clients send (dated snapshots, aliases, `-latest`, provider and cloud prefixes), and
//! a JSON file that overrides or extends the table (`--prices FILE`).
//!
//! Prices are USD per million tokens. Read on 2026-12-05 through the docs corpus of the
//! project's search tool, from:
//! - [A] Anthropic, "Pricing", <https://platform.claude.com/docs/en/about-claude/pricing>
//!   (model table: base input, 5m and 1h cache writes, cache hits, output).
//! - [A-S5] Anthropic model pages <https://platform.claude.com/docs/en/models/sonnet-5/overview>
//!   and `.../sonnet-5-5/overview` (Sonnet 5 / 5.5: $2 in, $2.50 / $4 writes, $10 out).
//! - [A-CUT] The Sonnet 5.5 cache-read cut to $0.10 and Haiku 5.5's rates, effective
//!   2026-10-07, as re-checked against [A] by github.com/kurofune/claudit v1.9.2 and
//!   github.com/TheKrush/PromptFuel v1.0.23; Opus 5.5 ($4 / $20, $0.20 cache read) and
//!   Fable 5.2 / Mythos 5.2 ($8 / $40, $0.20 cache read) from [A] as checked on 2026-12-01 by
//!   github.com/phuryn/claude-usage v1.5.7. Their cache writes follow [A]'s multipliers
//!   (1.25x input for 5 minutes, 2x for 1 hour).
//! - [O] OpenAI, "Pricing", <https://developers.openai.com/api/docs/pricing>, as quoted by
//!   tokenmix.ai "GPT-5 API pricing" (checked 2026-04-30: gpt-5.5, gpt-5.4, gpt-5.4-mini) and
//!   GitHub's docs table `data/tables/copilot/models-and-pricing.yml` (gpt-4.1, gpt-5-mini,
//!   gpt-5.2, gpt-5.2/5.3-codex). OpenAI bills no cache writes: both write prices equal input.
//! - [O-OLD] OpenAI's published rates for older models still served (gpt-5, gpt-5-nano,
//!   gpt-4.1-mini/nano, gpt-4o, gpt-4o-mini, o3 after its June 2025 cut, o4-mini), as listed
//!   by docs.rs crates `openai-cost` 0.1.0 and `adk-model` 0.6.0 and swfte.com (2026-05-15).
//!
//! Haiku 5.5 charges five times its rates, on every token of a request, when the prompt
//! (input, cache reads and writes) is over 100,000 tokens ([A-CUT]): `long` below.
//! Verify before billing: providers change prices; `--prices` corrects the table.

use std::path::Path;

use serde::Deserialize;

/// One model's prices, USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Price {
    /// Uncached input.
    pub input: f64,
    /// Output (reasoning included).
    pub output: f64,
    /// Cache reads (hits and refreshes).
    pub cache_read: f64,
    /// Cache writes with the 5-minute TTL.
    pub cache_write_5m: f64,
    /// Cache writes with the 1-hour TTL.
    pub cache_write_1h: f64,
    /// Above this many prompt tokens, every rate is multiplied by the factor.
    pub long: Option<(u64, f64)>,
}

/// `(canonical name, provider, input, 5m write, 1h write, cache read, output, source, aliases)`.
type Row = (&'static str, &'static str, f64, f64, f64, f64, f64, &'static str, &'static [&'static str]);

const ANTHROPIC: &str = "anthropic";
const OPENAI: &str = "openai";

/// The embedded table (sources in the module documentation).
const TABLE: &[Row] = &[
    ("claude-fable-5-2", ANTHROPIC, 8.0, 10.0, 16.0, 0.20, 40.0, "A-CUT", &[]),
    ("claude-mythos-5-2", ANTHROPIC, 8.0, 10.0, 16.0, 0.20, 40.0, "A-CUT", &[]),
    ("claude-fable-5-1", ANTHROPIC, 10.0, 12.5, 20.0, 0.25, 50.0, "A", &[]),
    ("claude-mythos-5-1", ANTHROPIC, 10.0, 12.5, 20.0, 0.25, 50.0, "A", &[]),
    ("claude-fable-5", ANTHROPIC, 10.0, 12.5, 20.0, 1.0, 50.0, "A", &[]),
    ("claude-mythos-5", ANTHROPIC, 10.0, 12.5, 20.0, 1.0, 50.0, "A", &[]),
    ("claude-opus-5-5", ANTHROPIC, 4.0, 5.0, 8.0, 0.20, 20.0, "A-CUT", &[]),
    ("claude-opus-5", ANTHROPIC, 5.0, 6.25, 10.0, 0.50, 25.0, "A", &[]),
    ("claude-opus-4-8", ANTHROPIC, 5.0, 6.25, 10.0, 0.50, 25.0, "A", &[]),
    ("claude-opus-4-7", ANTHROPIC, 5.0, 6.25, 10.0, 0.50, 25.0, "A", &[]),
    ("claude-opus-4-6", ANTHROPIC, 5.0, 6.25, 10.0, 0.50, 25.0, "A", &[]),
    ("claude-opus-4-5", ANTHROPIC, 5.0, 6.25, 10.0, 0.50, 25.0, "A", &[]),
    ("claude-opus-4-1", ANTHROPIC, 15.0, 18.75, 30.0, 1.50, 75.0, "A", &[]),
    ("claude-opus-4", ANTHROPIC, 15.0, 18.75, 30.0, 1.50, 75.0, "A", &["claude-opus-4-0", "claude-4-opus"]),
    ("claude-3-opus", ANTHROPIC, 15.0, 18.75, 30.0, 1.50, 75.0, "A", &[]),
    ("claude-sonnet-5-5", ANTHROPIC, 2.0, 2.5, 4.0, 0.10, 10.0, "A-CUT", &[]),
    ("claude-sonnet-5", ANTHROPIC, 2.0, 2.5, 4.0, 0.20, 10.0, "A-S5", &[]),
    ("claude-sonnet-4-6", ANTHROPIC, 3.0, 3.75, 6.0, 0.30, 15.0, "A", &[]),
    ("claude-sonnet-4-5", ANTHROPIC, 3.0, 3.75, 6.0, 0.30, 15.0, "A", &[]),
    (
        "claude-sonnet-4",
        ANTHROPIC,
        3.0,
        3.75,
        6.0,
        0.30,
        15.0,
        "A",
        &["claude-sonnet-4-0", "claude-4-sonnet"],
    ),
    ("claude-3-7-sonnet", ANTHROPIC, 3.0, 3.75, 6.0, 0.30, 15.0, "A", &[]),
    ("claude-haiku-5-5", ANTHROPIC, 0.10, 0.125, 0.20, 0.01, 0.50, "A-CUT", &[]),
    ("claude-haiku-4-5", ANTHROPIC, 1.0, 1.25, 2.0, 0.10, 5.0, "A", &[]),
    ("claude-3-5-haiku", ANTHROPIC, 0.80, 1.0, 1.6, 0.08, 4.0, "A", &["claude-haiku-3-5"]),
    ("claude-3-haiku", ANTHROPIC, 0.25, 0.30, 0.50, 0.03, 1.25, "A", &[]),
    ("gpt-5.5", OPENAI, 5.0, 5.0, 5.0, 0.50, 30.0, "O", &[]),
    ("gpt-5.4", OPENAI, 2.50, 2.50, 2.50, 0.25, 15.0, "O", &[]),
    ("gpt-5.4-mini", OPENAI, 0.75, 0.75, 0.75, 0.075, 4.50, "O", &[]),
    ("gpt-5.4-nano", OPENAI, 0.20, 0.20, 0.20, 0.02, 1.25, "O", &[]),
    ("gpt-5.3-codex", OPENAI, 1.75, 1.75, 1.75, 0.175, 14.0, "O", &[]),
    ("gpt-5.2", OPENAI, 1.75, 1.75, 1.75, 0.175, 14.0, "O", &["gpt-5.2-codex"]),
    ("gpt-5", OPENAI, 1.25, 1.25, 1.25, 0.125, 10.0, "O-OLD", &["gpt-5-codex", "gpt-5-chat"]),
    ("gpt-5-mini", OPENAI, 0.25, 0.25, 0.25, 0.025, 2.0, "O", &[]),
    ("gpt-5-nano", OPENAI, 0.05, 0.05, 0.05, 0.005, 0.40, "O-OLD", &[]),
    ("gpt-4.1", OPENAI, 2.0, 2.0, 2.0, 0.50, 8.0, "O", &[]),
    ("gpt-4.1-mini", OPENAI, 0.40, 0.40, 0.40, 0.10, 1.60, "O-OLD", &[]),
    ("gpt-4.1-nano", OPENAI, 0.10, 0.10, 0.10, 0.025, 0.40, "O-OLD", &[]),
    ("gpt-4o", OPENAI, 2.50, 2.50, 2.50, 1.25, 10.0, "O-OLD", &["chatgpt-4o"]),
    ("gpt-4o-mini", OPENAI, 0.15, 0.15, 0.15, 0.075, 0.60, "O-OLD", &[]),
    ("o3", OPENAI, 2.0, 2.0, 2.0, 0.50, 8.0, "O-OLD", &[]),
    ("o4-mini", OPENAI, 1.10, 1.10, 1.10, 0.275, 4.40, "O-OLD", &[]),
];

/// Haiku 5.5's long-prompt band ([A-CUT]).
const LONG_PROMPTS: &[(&str, u64, f64)] = &[("claude-haiku-5-5", 100_000, 5.0)];

/// A priced model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Entry {
    /// The canonical name costs are reported under.
    pub name: String,
    /// `anthropic` or `openai` (or what a price file says).
    pub provider: String,
    /// Its prices.
    pub price: Price,
    /// `embedded` or the price file's path.
    pub source: String,
}

/// The price table, keyed by normalised names (canonical names and aliases).
#[derive(Debug, Clone, Default)]
pub struct Prices {
    entries: Vec<Entry>,
    by_name: crate::FastMap<String, usize>,
    /// The keys of `by_name` that [`normalize`] leaves as they are: a model name equal to one
    /// resolves to it without being normalised (an allocation or more per request).
    exact: crate::FastMap<String, usize>,
}

/// A price file that cannot be used (reported at start, naming the file and line).
#[derive(Debug, thiserror::Error)]
pub enum PriceFileError {
    /// The file could not be read.
    #[error("price file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid price file.
    #[error("price file {path}, line {line}, column {column}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// A price in the file: a finite, non-negative number.
#[derive(Debug, Clone, Copy)]
struct Usd(f64);

impl<'de> Deserialize<'de> for Usd {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v.is_finite() && v >= 0.0 {
            Ok(Self(v))
        } else {
            Err(serde::de::Error::custom(format!(
                "a price must be a non-negative number of USD per million tokens, got {v}"
            )))
        }
    }
}

/// One model in a price file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileModel {
    provider: Option<String>,
    input: Usd,
    output: Usd,
    cache_read: Option<Usd>,
    cache_write_5m: Option<Usd>,
    cache_write_1h: Option<Usd>,
    #[serde(default)]
    aliases: Vec<String>,
}

/// A price file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    models: std::collections::BTreeMap<String, FileModel>,
}

impl Prices {
    /// The embedded table.
    pub fn embedded() -> Self {
        let mut p = Self::default();
        for &(name, provider, input, w5, w1h, read, output, source, aliases) in TABLE {
            let long = LONG_PROMPTS.iter().find(|l| l.0 == name).map(|l| (l.1, l.2));
            let price =
                Price { input, output, cache_read: read, cache_write_5m: w5, cache_write_1h: w1h, long };
            p.insert(
                Entry {
                    name: name.into(),
                    provider: provider.into(),
                    price,
                    source: format!("embedded [{source}]"),
                },
                aliases.iter().map(|a| (*a).to_owned()),
            );
        }
        p
    }

    /// The embedded table with `path`'s models added (a name already known is replaced).
    pub fn with_file(path: &Path) -> Result<Self, PriceFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| PriceFileError::Read { path: shown.clone(), source })?;
        let mut p = Self::embedded();
        p.extend_from_str(&text, &shown)?;
        Ok(p)
    }

    /// Add the models of a price file's text (`source` names it in errors and in `/stats`).
    pub fn extend_from_str(&mut self, text: &str, source: &str) -> Result<(), PriceFileError> {
        let invalid = |line: usize, column: usize, message: String| PriceFileError::Invalid {
            path: source.to_owned(),
            line,
            column,
            message,
        };
        let file: PriceFile = serde_json::from_str(text).map_err(|e| {
            // serde_json appends " at line L column C"; the position is reported on its own.
            let msg = e.to_string();
            let msg = msg.rsplit_once(" at line ").map_or(msg.as_str(), |(m, _)| m).to_owned();
            invalid(e.line(), e.column(), msg)
        })?;
        for (name, m) in file.models {
            let line_of = || line_of_key(text, &name);
            let key = normalize(&name);
            if key.is_empty() {
                return Err(invalid(line_of(), 1, format!("model name `{name}` is empty once normalised")));
            }
            let provider = match m.provider.as_deref() {
                Some(p @ ("anthropic" | "openai")) => p.to_owned(),
                Some(other) => {
                    return Err(invalid(
                        line_of(),
                        1,
                        format!("model `{name}`: provider must be `anthropic` or `openai`, got `{other}`"),
                    ));
                }
                None if key.starts_with("claude") => ANTHROPIC.into(),
                None => OPENAI.into(),
            };
            let input = m.input.0;
            // Missing cache prices follow the provider's rules: Anthropic's published
            // multipliers; OpenAI bills no writes, and an unknown discount on reads is not
            // assumed (reads at the input price never under-state a cost).
            let (read, w5, w1h) = if provider == ANTHROPIC {
                (input * 0.1, input * 1.25, input * 2.0)
            } else {
                (input, input, input)
            };
            let price = Price {
                input,
                output: m.output.0,
                cache_read: m.cache_read.map_or(read, |u| u.0),
                cache_write_5m: m.cache_write_5m.map_or(w5, |u| u.0),
                cache_write_1h: m.cache_write_1h.map_or(w1h, |u| u.0),
                long: None,
            };
            self.insert(Entry { name: key.clone(), provider, price, source: source.to_owned() }, m.aliases);
        }
        Ok(())
    }

    fn insert(&mut self, entry: Entry, aliases: impl IntoIterator<Item = String>) {
        let i = self.entries.len();
        let names = std::iter::once(entry.name.clone()).chain(aliases);
        self.entries.push(entry);
        for name in names {
            let key = normalize(&name);
            if normalize(&key) == key {
                self.exact.insert(key.clone(), i);
            }
            self.by_name.insert(key, i);
        }
    }

    /// The entry for a model name as a client sent it, `None` when it is not priced.
    pub fn resolve(&self, model: &str) -> Option<&Entry> {
        if let Some(&i) = self.exact.get(model) {
            return Some(&self.entries[i]);
        }
        self.by_name.get(&normalize(model)).map(|&i| &self.entries[i])
    }

    /// Every priced model (the last entry of a name wins), for `/stats`.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// No model priced.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// The line of `"name":` in a price file (1 when it cannot be found).
fn line_of_key(text: &str, name: &str) -> usize {
    let needle = format!("\"{name}\"");
    text.find(&needle).map_or(1, |at| text[..at].matches('\n').count() + 1)
}

/// A model name as the table keys it: lower case; provider and cloud prefixes
/// (`anthropic/`, `openai/`, Bedrock's `us.anthropic.`), Bedrock's `-v1:0`, Vertex's
/// `@20250514`, the `[1m]` context marker, `-latest` and a trailing date (`-20250929`,
/// `-2025-08-07`) removed.
pub fn normalize(model: &str) -> String {
    let mut m = model.trim().to_ascii_lowercase();
    if let Some(i) = m.rfind('/') {
        m = m[i + 1..].to_owned();
    }
    if let Some(i) = m.find("anthropic.") {
        m = m[i + "anthropic.".len()..].to_owned();
    }
    if let Some(i) = m.find('@') {
        m.truncate(i);
    }
    if let Some(i) = m.find('[') {
        m.truncate(i);
    }
    // Bedrock version suffix: `-v1:0`, `-v2`.
    if let Some(i) = m.rfind("-v")
        && m[i + 2..].chars().all(|c| c.is_ascii_digit() || c == ':')
        && m.len() > i + 2
    {
        m.truncate(i);
    }
    if let Some(stripped) = m.strip_suffix("-latest") {
        m = stripped.to_owned();
    }
    strip_date(&m).to_owned()
}

/// `name` without a trailing `-YYYYMMDD` or `-YYYY-MM-DD`.
fn strip_date(name: &str) -> &str {
    let b = name.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let n = b.len();
    if n > 9 && b[n - 9] == b'-' && digits(&b[n - 8..]) && b[n - 8..].starts_with(b"20") {
        return &name[..n - 9];
    }
    if n > 11
        && b[n - 11] == b'-'
        && b[n - 6] == b'-'
        && b[n - 3] == b'-'
        && digits(&b[n - 10..n - 6])
        && digits(&b[n - 5..n - 3])
        && digits(&b[n - 2..])
    {
        return &name[..n - 11];
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_snapshots_aliases_latest_and_prefixes() {
        let p = Prices::embedded();
        let name = |m: &str| p.resolve(m).map(|e| e.name.clone());
        assert_eq!(name("claude-sonnet-4-5-20250929").as_deref(), Some("claude-sonnet-4-5"));
        assert_eq!(name("claude-3-7-sonnet-latest").as_deref(), Some("claude-3-7-sonnet"));
        assert_eq!(name("anthropic/claude-opus-4-1").as_deref(), Some("claude-opus-4-1"));
        assert_eq!(name("us.anthropic.claude-3-5-haiku-20241022-v1:0").as_deref(), Some("claude-3-5-haiku"));
        assert_eq!(name("claude-sonnet-4@20250514").as_deref(), Some("claude-sonnet-4"));
        assert_eq!(name("claude-opus-4-6[1m]").as_deref(), Some("claude-opus-4-6"));
        assert_eq!(name("claude-opus-4-0").as_deref(), Some("claude-opus-4"));
        assert_eq!(name("gpt-4o-mini-2024-07-18").as_deref(), Some("gpt-4o-mini"));
        assert_eq!(name("openai/gpt-5.4-mini").as_deref(), Some("gpt-5.4-mini"));
        assert_eq!(name("GPT-5-Chat-Latest").as_deref(), Some("gpt-5"));
        assert_eq!(name("o3-2025-04-16").as_deref(), Some("o3"));
        // Unknown names stay unknown: no guessing by prefix (a new model would get an old price).
        assert_eq!(name("claude-opus-4-9"), None);
        assert_eq!(name("gpt-mock"), None);
        assert_eq!(name(""), None);
        // The shortcut for names already in the table's form agrees with normalising them.
        for key in p.by_name.keys() {
            assert_eq!(
                p.resolve(key).map(|e| &e.name),
                p.by_name.get(&normalize(key)).map(|&i| &p.entries[i].name)
            );
        }
        assert!(p.exact.contains_key("gpt-4o"), "the shortcut is taken for a plain name");
    }

    #[test]
    fn price_file_overrides_extends_and_reports_the_line() {
        let mut p = Prices::embedded();
        let text = "{\n  \"models\": {\n    \"gpt-4o\": {\"input\": 1, \"output\": 2},\n    \"my-claude\": {\"provider\": \"anthropic\", \"input\": 10, \"output\": 20, \"aliases\": [\"mine\"]}\n  }\n}\n";
        p.extend_from_str(text, "p.json").expect("test value");
        let e = p.resolve("gpt-4o-2024-08-06").expect("test value");
        assert_eq!((e.price.input, e.price.cache_read, e.source.as_str()), (1.0, 1.0, "p.json"));
        let mine = p.resolve("mine").expect("test value");
        assert_eq!((mine.price.cache_read, mine.price.cache_write_1h), (1.0, 20.0));
        for (bad, line) in [
            ("{\n\"models\": {\n\"x\": {\"input\": -1, \"output\": 2}}}", 3),
            ("{\n\"models\": {\n\"x\": {\"input\": 1, \"ouput\": 2}}}", 3),
            ("{\n\"models\": {\n\n\"x\": {\"input\": 1, \"output\": 2, \"provider\": \"google\"}}}", 4),
            ("{\n\"models\": {\n\"x\": {\"input\": 1,,}}}", 3),
        ] {
            let err = Prices::embedded().extend_from_str(bad, "bad.json").expect_err("test error");
            match &err {
                PriceFileError::Invalid { line: l, .. } => assert_eq!(*l, line, "{err}"),
                other => panic!("{other}"),
            }
            assert!(err.to_string().starts_with("price file bad.json, line"), "{err}");
        }
    }
}
