"""End-to-end savings, the sending half: replays agent trajectories through `headroom proxy` with the
official OpenAI and Anthropic Python SDKs (streaming and not, alternating), in front of the mock
upstream, which records every body it receives. `benches/src/bin/e2e.rs` then compares what was
sent with what arrived. Usage: send.py OUT_DIR MODE LIMIT"""

import json
import os
import subprocess
import sys
import time
import urllib.request

import anthropic
import openai

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# HEADROOM_E2E_BIN: a folder holding `headroom` and `examples/mock_upstream` (default: this build).
BIN = os.environ.get("HEADROOM_E2E_BIN") or os.path.join(ROOT, "target", "release")
CORPUS = os.path.join(ROOT, "..", "shared", "corpus", "swe-agent-trajectories")


def start(cmd, env, marker=None):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    stream = proc.stderr if marker else proc.stdout
    while True:
        line = stream.readline()
        if not line:
            raise RuntimeError(f"{cmd[0]} did not start")
        if marker is None or marker in line:
            return proc, line.strip()


def main():
    out, mode, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ, MOCK_RECORD_DIR=out)
    mock, mock_url = start([os.path.join(BIN, "examples", "mock_upstream")], env)
    env = dict(os.environ, HEADROOM_PORT="0", HEADROOM_MODE=mode, ANTHROPIC_TARGET_API_URL=mock_url,
               OPENAI_TARGET_API_URL=mock_url)
    proxy, line = start([os.path.join(BIN, "headroom"), "proxy"], env, marker="listening on")
    url = line.split("listening on ")[1]
    for _ in range(400):
        try:
            if urllib.request.urlopen(url + "/readyz").status == 200:
                break
        except Exception:
            time.sleep(0.025)
    oa = openai.OpenAI(base_url=url + "/v1", api_key="sk-e2e", max_retries=0)
    an = anthropic.Anthropic(base_url=url, api_key="sk-ant-e2e", max_retries=0)
    index = open(os.path.join(out, "index.jsonl"), "w")
    files = sorted(f for f in os.listdir(CORPUS) if f.endswith(".traj.json"))[:limit]
    try:
        for name in files:
            msgs = json.load(open(os.path.join(CORPUS, name)))["messages"]
            steps = [k for k in range(2, len(msgs) - 1)
                     if msgs[k]["role"] == "user" and msgs[k]["content"].startswith("<returncode>")]
            for n, k in enumerate(steps):
                stream = n % 2 == 1
                chat = [{"role": m["role"], "content": m["content"]} for m in msgs[: k + 1]]
                if stream:
                    text = "".join(c.choices[0].delta.content or "" for c in
                                   oa.chat.completions.create(model="gpt-4o", messages=chat, stream=True) if c.choices)
                else:
                    text = oa.chat.completions.create(model="gpt-4o", messages=chat).choices[0].message.content
                assert text == "mock answer", text
                index.write(json.dumps({"sdk": "openai", "traj": name, "k": k, "stream": stream}) + "\n")
                system, rest = chat[0]["content"], chat[1:]
                if stream:
                    with an.messages.stream(model="claude-x", max_tokens=10, system=system, messages=rest) as s:
                        text = "".join(s.text_stream)
                else:
                    text = an.messages.create(model="claude-x", max_tokens=10, system=system,
                                              messages=rest).content[0].text
                assert text == "mock answer", text
                index.write(json.dumps({"sdk": "anthropic", "traj": name, "k": k, "stream": stream}) + "\n")
    finally:
        index.close()
        for p in (proxy, mock):
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()
