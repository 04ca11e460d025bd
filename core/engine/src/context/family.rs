//! Windows of model families, for ids the table of known models does not list.
//!
//! Providers name new models after their family long before a table can list them
//! (`claude-sonnet-5`, `gpt-5.1-codex`, `o5-mini`), and a request for one is refused over the
//! family's window all the same. Each rule gives the smallest window current members of the
//! family have by default, so a guess errs on the side of fitting:
//!
//! | ids | window | why |
//! |---|---|---|
//! | `claude-*` | 200,000 | every Claude model since Claude 2.1; the 1M window needs Anthropic's beta header (hosts pass it) or Claude Code's `[1m]` suffix (see `models`) |
//! | `gpt-N…`, N >= 5 (`gpt-5.1`, `gpt-5.2-codex`, `gpt-6`) | 400,000 | the GPT-5 family's API window |
//! | the same with `-chat` (`gpt-5.1-chat-latest`) | 128,000 | ChatGPT's chat snapshots, as `gpt-5-chat` |
//! | `gpt-4.1…` | 1,047,576 | the GPT-4.1 family |
//! | any other `gpt-*` (`gpt-4o-…`, `gpt-oss-120b`) | 128,000 | GPT-4o, GPT-4.5 and the open-weight models |
//! | `o<digits>` alone or before `-`, `@`, `:` (`o5`, `o3-pro`, `o4-mini-deep-research`) | 200,000 | the o-series reasoning models |

/// Window of the Claude family.
const CLAUDE: u32 = 200_000;
/// Window of GPT-5 and later.
const GPT_5: u32 = 400_000;
/// Window of the `-chat` snapshots of GPT-5 and later.
const GPT_5_CHAT: u32 = 128_000;
/// Window of the GPT-4.1 family.
const GPT_4_1: u32 = 1_047_576;
/// Window of every other GPT model.
const GPT_OTHER: u32 = 128_000;
/// Window of the o-series.
const O_SERIES: u32 = 200_000;

/// The window of `id`'s family (`id` normalised: lower case, routing prefix removed), if it
/// belongs to one.
pub fn window(id: &str) -> Option<u32> {
    if id.starts_with("claude-") {
        return Some(CLAUDE);
    }
    if let Some(rest) = id.strip_prefix("gpt-") {
        return Some(gpt(rest));
    }
    o_series(id).then_some(O_SERIES)
}

/// A GPT model's window from what follows `gpt-`: a version (`5`, `5.1`, `4.1`) or a name.
fn gpt(rest: &str) -> u32 {
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let Ok(major) = rest[..digits].parse::<u32>() else { return GPT_OTHER };
    let after_major = &rest[digits..];
    let minor = after_major.strip_prefix('.').map(|m| &m[..m.bytes().take_while(u8::is_ascii_digit).count()]);
    match major {
        5.. if rest.split(['-', '@', ':']).skip(1).any(|part| part == "chat") => GPT_5_CHAT,
        5.. => GPT_5,
        4 if minor == Some("1") => GPT_4_1,
        _ => GPT_OTHER,
    }
}

/// `o` and digits, alone or followed by a separator: the o-series, not `omni-…` or `o1x`.
fn o_series(id: &str) -> bool {
    let Some(rest) = id.strip_prefix('o') else { return false };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && (rest.len() == digits || rest[digits..].starts_with(['-', '@', ':']))
}

#[cfg(test)]
mod tests {
    use super::window;

    #[test]
    fn claude_ids_get_the_claude_window() {
        for id in ["claude-sonnet-5", "claude-opus-5", "claude-fable-5", "claude-opus-4-8", "claude-x"] {
            assert_eq!(window(id), Some(200_000), "{id}");
        }
        assert_eq!(window("claudette"), None);
    }

    #[test]
    fn gpt_versions_choose_their_family() {
        assert_eq!(window("gpt-5.1"), Some(400_000));
        assert_eq!(window("gpt-5.2-codex"), Some(400_000));
        assert_eq!(window("gpt-6-mini"), Some(400_000));
        assert_eq!(window("gpt-10"), Some(400_000));
        assert_eq!(window("gpt-5.1-chat-latest"), Some(128_000));
        assert_eq!(window("gpt-5.1-chatty"), Some(400_000), "only a `chat` part is the chat snapshot");
        assert_eq!(window("gpt-4.1-nano-2025-04-14"), Some(1_047_576));
        assert_eq!(window("gpt-4.10"), Some(128_000), "4.10 is not 4.1");
        assert_eq!(window("gpt-4o-audio-preview"), Some(128_000));
        assert_eq!(window("gpt-oss-120b"), Some(128_000));
        assert_eq!(window("gpt-"), Some(128_000));
        assert_eq!(window("chatgpt"), None);
    }

    #[test]
    fn o_series_needs_digits_then_a_separator() {
        for id in ["o5", "o3-pro", "o4-mini-deep-research", "o7@2027", "o12:1"] {
            assert_eq!(window(id), Some(200_000), "{id}");
        }
        for id in ["o", "omni-moderation-latest", "o1x", "o-3", "llama-3-70b", "mistral-large", ""] {
            assert_eq!(window(id), None, "{id}");
        }
    }
}
