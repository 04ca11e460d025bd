//! Models the engine does not know (no window in its table or family rules) are counted on
//! `/health`, with the last few distinct names; models of a known family are not.

mod support;

use serde_json::{Value, json};
use support::{config, start_mock, start_proxy};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_models_are_counted_on_health() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let sends = [
        ("/v1/messages", "claude-fable-5"),
        ("/v1/messages", "claude-sonnet-4-5[1m]"),
        ("/v1/chat/completions", "gpt-5.2"),
        ("/v1/responses", "o5-mini"),
        ("/v1/chat/completions", "llama-local"),
        ("/v1/chat/completions", "llama-local"),
        ("/v1/responses", "mystery-model"),
        ("/v1/chat/completions", "llama-local"),
    ];
    for (path, model) in sends {
        let body = match path {
            "/v1/responses" => json!({"model": model, "input": "hi"}),
            _ => json!({"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
        };
        let r = client().post(format!("{}{path}", proxy.url)).json(&body).send().await.expect("send");
        assert_eq!(r.status(), 200);
    }
    // A count is not a turn: not counted.
    let count = json!({"model": "not-a-turn", "messages": [{"role": "user", "content": "hi"}]});
    let r = client()
        .post(format!("{}/v1/messages/count_tokens", proxy.url))
        .json(&count)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);

    let health: Value =
        client().get(format!("{}/health", proxy.url)).send().await.expect("send").json().await.expect("json");
    assert_eq!(
        health["models"]["unknown"],
        json!({"requests": 4, "recent": ["mystery-model", "llama-local"]})
    );
}
