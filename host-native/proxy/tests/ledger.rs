//! Cache safety across a bypass: messages that reached the provider untouched are sent
//! untouched on every later turn of that conversation, while other conversations still get
//! compressed.

mod support;

use serde_json::{Value, json};
use support::{compressible_chat, config, start_mock, start_proxy};

async fn post(url: &str, body: &Value, bypass: bool) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut r = reqwest::Client::new().post(format!("{url}/v1/chat/completions")).json(body);
    if bypass {
        r = r.header("x-headroom-bypass", "true");
    }
    assert_eq!(r.send().await.expect("send").status(), 200);
}

fn next_turn(mut chat: Value) -> Value {
    let messages = chat["messages"].as_array_mut().expect("messages");
    messages.push(json!({"role": "assistant", "content": "It is called in module 0."}));
    messages.push(json!({"role": "user", "content": "Thanks. Where else?"}));
    chat
}

#[tokio::test(flavor = "multi_thread")]
async fn i2_messages_sent_untouched_stay_untouched_on_later_turns() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let first = compressible_chat(false);
    let output = first["messages"][3]["content"].clone();

    post(&proxy.url, &first, true).await;
    post(&proxy.url, &next_turn(first.clone()), false).await;
    let hits = mock.hits();
    let sent: Value = serde_json::from_slice(&hits[1].body).expect("json");
    assert_eq!(sent["messages"][3]["content"], output, "the provider saw this output whole: it stays whole");

    // Another conversation with the same output is compressed as usual.
    let mut other = next_turn(first);
    other["messages"][1]["content"] = "A different task.".into();
    post(&proxy.url, &other, false).await;
    let sent: Value = serde_json::from_slice(&mock.hits()[2].body).expect("json");
    assert_ne!(sent["messages"][3]["content"], output, "other sessions are unaffected");
}
