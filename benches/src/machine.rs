//! The machine and the engine revision a benchmark ran on, for its report.

/// CPU model, core count and memory, from /proc.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kb: u64 = mem
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0);
    format!(
        "{} ({cores} cores, {} GB RAM), a noisy shared machine",
        model.as_deref().unwrap_or("unknown CPU"),
        kb / 1_000_000
    )
}

/// The last commit that changed the engine (`core/`), and whether its sources differ from it.
pub fn revision() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let head = git(&["log", "-1", "--format=%h", "--", "../core"]);
    let dirty = !git(&["status", "--porcelain", "--", "../core"]).is_empty();
    match (head.is_empty(), dirty) {
        (true, _) => "an unknown commit".to_owned(),
        (false, false) => format!("`{head}`"),
        (false, true) => format!("`{head}` plus uncommitted changes in `core/`"),
    }
}
