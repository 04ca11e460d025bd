use crate::transforms::query::Query;
use crate::transforms::{Ctx, diff, log, search};

#[test]
#[ignore]
fn measure_tmp() {
    let mut entries: Vec<_> = std::fs::read_dir("/tmp/lsd/samples")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".txt") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let cmd = std::fs::read_to_string(p.with_extension("cmd")).unwrap_or_default();
        let q = Query::new(&cmd);
        let f = if name.starts_with("log") {
            log::compress
        } else if name.starts_with("grep") {
            search::compress
        } else {
            diff::compress
        };
        for lossy in [false, true] {
            let ctx = Ctx {
                query: &q,
                key: "h:0123456789abcdef01234567",
                lossy,
            };
            let r = f(&text, &ctx);
            let hr = std::fs::read_to_string(p.with_extension("hr"))
                .map(|s| s.len().to_string())
                .unwrap_or("-".into());
            match &r {
                Some(r) => println!(
                    "{name:32} lossy={lossy:5} {:>7} -> {:>7} ({:>3}%) {} headroom={hr}",
                    text.len(),
                    r.text.len(),
                    r.text.len() * 100 / text.len().max(1),
                    r.transform
                ),
                None => println!(
                    "{name:32} lossy={lossy:5} {:>7} -> declined headroom={hr}",
                    text.len()
                ),
            }
            if let Some(r) = r {
                std::fs::write(format!("/tmp/lsd/out/{name}.{lossy}"), &r.text).unwrap();
            }
        }
    }
}
