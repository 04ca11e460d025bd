//! A conversation's memory changes how much work a request costs, never what it forwards:
//! every request of every committed conversation, replayed turn by turn with a memory, gets
//! the outcome the stateless engine gives it (body, report, originals, context report), in
//! both modes and in all three dialects; and later requests do reuse earlier work.

use headroom_core::session::Memory;
use headroom_core::{Dialect, Mode, Options, compress_request, compress_request_in};
use headroom_tests::{corpus_conversation, count, openai_body, root};

const TRAJECTORIES: [&str; 4] = [
    "pytest-dev__pytest-10051.traj.json",
    "pytest-dev__pytest-5262.traj.json",
    "pytest-dev__pytest-7571.traj.json",
    "sympy__sympy-11618.traj.json",
];

fn modes() -> Vec<Options> {
    vec![
        Options { mode: Mode::Cache, ..Options::default() },
        Options::default(),
        // Boundaries move on every turn: the hardest case for reuse.
        Options { offload_batch_tokens: 0, ..Options::default() },
        // A small window: later turns outgrow it, in bytes first (the window check's bound and
        // its counting over turns), then in tokens (compressed deeper, messages dropped).
        Options { mode: Mode::Cache, context_limit: Some(6_000), ..Options::default() },
    ]
}

/// Replay `bodies` in order through one memory and check each outcome against the stateless
/// engine's; returns the blocks reused.
/// Replays `bodies` with and without `memory`, asserting equal outcomes; returns the segments
/// reused and the turns that left earlier messages unread.
fn replay(dialect: Dialect, bodies: &[Vec<u8>], opts: &Options, memory: &mut Memory) -> (u32, usize) {
    let mut reused = 0;
    let mut unread = 0;
    for (k, body) in bodies.iter().enumerate() {
        let stateless = compress_request(dialect, body, opts, &count).expect("stateless");
        let (with_memory, reuse) =
            compress_request_in(memory, dialect, body, opts, &count).expect("with memory");
        if with_memory != stateless {
            let (a, b) =
                (with_memory.body.as_deref().unwrap_or(body), stateless.body.as_deref().unwrap_or(body));
            let at = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
            panic!(
                "request {k} of {dialect:?} under {:?} differs with a memory (bodies from byte {at}: {:?} vs {:?}); \
                 reports {:?} vs {:?}",
                opts.mode,
                String::from_utf8_lossy(&a[at.saturating_sub(40)..(at + 200).min(a.len())]),
                String::from_utf8_lossy(&b[at.saturating_sub(40)..(at + 200).min(b.len())]),
                with_memory.report,
                stateless.report
            );
        }
        reused += reuse.segments;
        unread += usize::from(reuse.unread_messages > 0);
    }
    (reused, unread)
}

fn trajectory_bodies(name: &str) -> Vec<Vec<u8>> {
    let conv = corpus_conversation(name);
    (2..=conv.len()).filter(|k| conv[k - 1].0 == "user").map(|k| openai_body(&conv[..k])).collect()
}

#[test]
fn every_trajectory_step_is_byte_identical_with_a_memory() {
    for name in TRAJECTORIES {
        let bodies = trajectory_bodies(name);
        for opts in modes() {
            let mut memory = Memory::default();
            let (reused, unread) = replay(Dialect::OpenAiChat, &bodies, &opts, &mut memory);
            assert!(reused as usize > bodies.len(), "{name}: later requests reuse earlier blocks ({reused})");
            assert!(
                unread * 4 > bodies.len() * 3,
                "{name}: most turns leave earlier messages unread ({unread})"
            );
        }
    }
}

/// Growing prefixes of a recorded body (`messages` or `input` cut after each user turn), the
/// way the client sent its conversation turn by turn.
fn prefixes_of(recording: &str, list: &str) -> Vec<Vec<u8>> {
    let path = root().join("tests/clients/recordings").join(recording);
    let body: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("recording")).expect("json");
    let items = body[list].as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for k in 1..=items.len() {
        let role = items[k - 1]["role"].as_str().unwrap_or("");
        let is_output = items[k - 1]["type"].as_str().is_some_and(|t| t.ends_with("_output"));
        if role == "user" || is_output {
            let mut b = body.clone();
            b[list] = serde_json::Value::Array(items[..k].to_vec());
            out.push(serde_json::to_vec(&b).expect("json"));
        }
    }
    out
}

#[test]
fn real_client_conversations_are_byte_identical_with_a_memory() {
    for (recording, list, dialect) in [
        ("claude-code/messages-final.json", "messages", Dialect::AnthropicMessages),
        ("codex/responses-exec-command-final.json", "input", Dialect::OpenAiResponses),
        ("codex/responses-code-mode-final.json", "input", Dialect::OpenAiResponses),
    ] {
        let bodies = prefixes_of(recording, list);
        assert!(bodies.len() > 2, "{recording}: a conversation of several turns");
        for opts in modes() {
            let mut memory = Memory::default();
            let (reused, unread) = replay(dialect, &bodies, &opts, &mut memory);
            assert!(reused > 0, "{recording}: later requests reuse earlier work");
            assert!(
                unread * 2 >= bodies.len(),
                "{recording}: turns leave earlier messages unread ({unread})"
            );
        }
    }
}

#[test]
fn an_edited_history_or_another_conversation_falls_back_to_full_work_with_the_same_bytes() {
    let a = trajectory_bodies(TRAJECTORIES[0]);
    let b = trajectory_bodies(TRAJECTORIES[1]);
    // An earlier tool output edited (a client that compacts or rewrites its history).
    let mut conv = corpus_conversation(TRAJECTORIES[0]);
    let edited_at = conv.iter().position(|(r, c)| r == "user" && c.len() > 2000).expect("a long output");
    let mut edited = Vec::new();
    for k in (edited_at + 2)..conv.len().min(edited_at + 12) {
        if conv[k - 1].0 == "user" {
            edited.push(openai_body(&conv[..k]));
        }
    }
    conv[edited_at].1 = conv[edited_at].1.replacen('\n', "\n(edited)\n", 1);
    for k in (edited_at + 2)..conv.len().min(edited_at + 12) {
        if conv[k - 1].0 == "user" {
            edited.push(openai_body(&conv[..k]));
        }
    }
    for opts in modes() {
        let mut memory = Memory::default();
        eprintln!("edited");
        replay(Dialect::OpenAiChat, &edited, &opts, &mut memory);
        eprintln!("interleaved");
        // Two conversations through one memory: every request differs from the last early on.
        let interleaved: Vec<Vec<u8>> =
            a.iter().zip(&b).take(15).flat_map(|(x, y)| [x.clone(), y.clone()]).collect();
        let mut memory = Memory::default();
        replay(Dialect::OpenAiChat, &interleaved, &opts, &mut memory);
        eprintln!("back");
        // A shorter request after a longer one (a retry of an earlier turn).
        let mut memory = Memory::default();
        let back: Vec<Vec<u8>> = vec![a[12].clone(), a[5].clone(), a[13].clone()];
        replay(Dialect::OpenAiChat, &back, &opts, &mut memory);
    }
}

/// A turn forwarded untouched freezes the messages it held (the proxy's ledger): later turns
/// run with a larger `frozen_count`. The memory keeps the conversation across that change
/// and still answers exactly as the stateless engine does.
#[test]
fn a_growing_frozen_prefix_keeps_the_memory_and_the_bytes() {
    let bodies = trajectory_bodies(TRAJECTORIES[0]);
    for opts in modes() {
        let mut memory = Memory::default();
        let mut reused = 0;
        for (k, body) in bodies.iter().enumerate() {
            // From a third of the way in, each turn freezes a little more, as if every turn
            // before it had been forwarded untouched.
            let frozen = if k >= bodies.len() / 3 { k as u32 } else { 0 };
            let opts = Options { frozen_count: frozen, ..opts.clone() };
            reused += replay(Dialect::OpenAiChat, std::slice::from_ref(body), &opts, &mut memory).0;
        }
        assert!(reused > 0, "the memory was reused under {:?}", opts.mode);
        let (requests, _) = memory.reused();
        assert!(
            requests as usize > bodies.len() * 2 / 3,
            "most turns reused work: {requests} of {}",
            bodies.len()
        );
    }
}

/// The proxy's read of a turn (validated and hashed only past the messages it shares with the
/// conversation's previous body) sees what a whole read sees, on every turn of the committed
/// conversations of all three dialects.
#[test]
fn reading_a_turn_past_what_it_shares_equals_a_whole_read() {
    use headroom_core::request::facts::{Memo, Read};
    let mut conversations: Vec<(Dialect, Vec<Vec<u8>>)> = vec![
        (Dialect::AnthropicMessages, prefixes_of("claude-code/messages-final.json", "messages")),
        (Dialect::OpenAiResponses, prefixes_of("codex/responses-exec-command-final.json", "input")),
    ];
    conversations.extend(TRAJECTORIES.iter().map(|name| (Dialect::OpenAiChat, trajectory_bodies(name))));
    for (dialect, bodies) in conversations {
        let mut memo: Option<Memo<Vec<u8>>> = None;
        let mut shared_turns = 0;
        for (k, body) in bodies.iter().enumerate() {
            let text = std::str::from_utf8(body).expect("utf-8");
            let (read, shared) = Read::validated_after(dialect, text, memo.as_ref()).expect("valid");
            let whole = Read::validated(dialect, text).expect("valid");
            let (hashes, next) = read.hashes_after(body.clone(), memo.as_ref(), shared);
            assert_eq!(hashes, whole.hashes(), "{dialect:?} turn {k}: hashes");
            assert_eq!(read.messages(), whole.messages(), "{dialect:?} turn {k}");
            assert_eq!(read.opening(), whole.opening(), "{dialect:?} turn {k}");
            assert_eq!(read.survey(), whole.survey(), "{dialect:?} turn {k}");
            let top = |r: &Read<'_>| {
                r.root().fields().map(|(n, v)| (n.to_owned(), v.get().to_owned())).collect::<Vec<_>>()
            };
            assert_eq!(top(&read), top(&whole), "{dialect:?} turn {k}: top level");
            shared_turns += usize::from(shared > 0);
            memo = Some(next);
        }
        assert!(shared_turns * 2 >= bodies.len(), "{dialect:?}: most turns share messages ({shared_turns})");
    }
}

/// A token-mode boundary that moves changes the standing of the blocks it offloads, not the
/// lookups of the blocks after it: those keep their outcomes from the memory. Here the
/// boundary moves on every turn, and still at most a tenth of what the previous request held
/// is worked out again (4-7% on these trajectories; 13-20% when the first changed block ended
/// all reuse).
#[test]
fn a_moving_boundary_reworks_only_the_blocks_it_offloads() {
    let opts = Options { offload_batch_tokens: 0, ..Options::default() };
    for name in TRAJECTORIES {
        let bodies = trajectory_bodies(name);
        let mut memory = Memory::default();
        let (mut reused, mut held) = (0u32, 0u32);
        let mut previous_total = 0;
        for body in &bodies {
            let stateless = compress_request(Dialect::OpenAiChat, body, &opts, &count).expect("stateless");
            let (with_memory, reuse) =
                compress_request_in(&mut memory, Dialect::OpenAiChat, body, &opts, &count).expect("memory");
            assert_eq!(with_memory, stateless, "{name}");
            reused += reuse.segments;
            held += previous_total;
            previous_total = reuse.total;
        }
        let reworked = held - reused.min(held);
        assert!(reworked * 10 <= held, "{name}: {reworked} of {held} segments worked out again");
    }
}

/// A conversation's next request hands over only the originals its previous request did not:
/// the new ones whole and the others by key, together exactly the stateless outcome's
/// originals; a memory that was lost (or never made) hands them all over again.
#[test]
fn a_next_request_hands_over_only_the_originals_it_did_not_before() {
    use headroom_core::compress_request_next_plugins;
    use headroom_core::plugins::NoPlugins;

    let bodies = trajectory_bodies(TRAJECTORIES[0]);
    for opts in modes() {
        let mut memory = Memory::default();
        let (mut handed, mut kept_total, mut over) = (std::collections::HashSet::new(), 0, 0);
        for (k, body) in bodies.iter().enumerate() {
            let stateless = compress_request(Dialect::OpenAiChat, body, &opts, &count).expect("stateless");
            let (next, _, kept) = compress_request_next_plugins(
                &mut memory,
                Dialect::OpenAiChat,
                body,
                &opts,
                &count,
                &NoPlugins,
            )
            .expect("next");
            assert_eq!(next.body, stateless.body, "request {k}");
            assert_eq!(next.context, stateless.context, "request {k}");
            over += usize::from(next.context.is_some());
            let mut all: Vec<&str> =
                next.offloads.iter().map(|o| o.key.as_str()).chain(kept.iter().map(String::as_str)).collect();
            let mut want: Vec<&str> = stateless.offloads.iter().map(|o| o.key.as_str()).collect();
            all.sort_unstable();
            want.sort_unstable();
            assert_eq!(all, want, "request {k}: new and kept are the request's originals");
            for o in &next.offloads {
                assert!(!handed.contains(&o.key), "request {k}: {} was handed over before", o.key);
                assert!(stateless.offloads.contains(o), "request {k}: the same original");
            }
            assert!(kept.iter().all(|key| handed.contains(key)), "request {k}: kept keys were handed over");
            kept_total += kept.len();
            handed = all.iter().map(|k| (*k).to_owned()).collect();
        }
        assert!(kept_total > 0, "later requests cite originals handed over before");
        if opts.context_limit.is_some() {
            assert!(over > 0, "some requests outgrow the small window");
        }
        // A lost memory hands everything over again.
        let last = bodies.last().expect("bodies");
        let stateless = compress_request(Dialect::OpenAiChat, last, &opts, &count).expect("stateless");
        let (fresh, _, kept) = compress_request_next_plugins(
            &mut Memory::default(),
            Dialect::OpenAiChat,
            last,
            &opts,
            &count,
            &NoPlugins,
        )
        .expect("next");
        assert_eq!((fresh.offloads, kept), (stateless.offloads, Vec::<String>::new()));
    }
}
