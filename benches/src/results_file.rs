//! Results files written in sections by several drivers (`results/e2e.md`: the trajectories
//! and the Claude Code sessions), each driver rewriting only its own `## ` section.

use std::path::Path;

use anyhow::{Context, Result};

/// Replace the section of `path` that starts with the line `heading` (a `## ` heading) up to
/// the next `## ` heading with `section` (which starts with that heading line); append it when
/// the file has no such section, and start the file with `title` when it does not exist.
pub fn write_section(path: &Path, title: &str, heading: &str, section: &str) -> Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => format!("{title}\n\n"),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let text = splice(&old, heading, section);
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn splice(old: &str, heading: &str, section: &str) -> String {
    let section = format!("{}\n", section.trim_end());
    let starts: Vec<usize> = line_starts(old).filter(|&i| old[i..].starts_with("## ")).collect();
    let Some(&start) = starts.iter().find(|&&i| old[i..].lines().next() == Some(heading)) else {
        let mut out = old.trim_end().to_owned();
        out.push_str("\n\n");
        out.push_str(&section);
        return out;
    };
    let end = starts.iter().copied().find(|&i| i > start).unwrap_or(old.len());
    let mut out = String::with_capacity(old.len() + section.len());
    out.push_str(&old[..start]);
    out.push_str(&section);
    if end < old.len() {
        out.push('\n');
        out.push_str(&old[end..]);
    }
    out
}

fn line_starts(s: &str) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(s.match_indices('\n').map(|(i, _)| i + 1)).filter(move |&i| i < s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_its_own_section() {
        let old = "# T\n\nintro\n\n## A\n\na1\n### sub\na2\n\n## B\n\nb\n";
        assert_eq!(splice(old, "## A", "## A\n\nnew\n"), "# T\n\nintro\n\n## A\n\nnew\n\n## B\n\nb\n");
        assert_eq!(
            splice(old, "## B", "## B\n\nnew"),
            "# T\n\nintro\n\n## A\n\na1\n### sub\na2\n\n## B\n\nnew\n"
        );
        assert_eq!(splice("# T\n", "## C", "## C\n\nc\n"), "# T\n\n## C\n\nc\n");
    }
}
