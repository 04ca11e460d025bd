"""The official Anthropic and OpenAI Python SDKs pointed at `headroom proxy`, in front of the
mock upstream: answers arrive intact, streaming and not, and big tool outputs reach the
upstream smaller. Run by `just test-sdk` (binaries built by it)."""

import json
import os
import subprocess
import sys
import time
import unittest
import urllib.request

import anthropic
import openai

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, "target", "release")


def start(cmd, env=None, marker=None):
    """Start a process, return it and the first line matching `marker` (or the first line)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    stream = proc.stderr if marker else proc.stdout
    deadline = time.time() + 30
    while time.time() < deadline:
        line = stream.readline()
        if not line:
            break
        if marker is None or marker in line:
            return proc, line.strip()
    proc.kill()
    raise RuntimeError(f"{cmd[0]} did not start")


class SdkThroughProxy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mock, cls.mock_url = start([os.path.join(BIN, "examples", "mock_upstream")])
        env = dict(os.environ, HEADROOM_PORT="0", ANTHROPIC_TARGET_API_URL=cls.mock_url,
                   OPENAI_TARGET_API_URL=cls.mock_url)
        cls.proxy, line = start([os.path.join(BIN, "headroom"), "proxy"], env=env, marker="listening on")
        cls.url = line.split("listening on ")[1]
        for _ in range(200):
            try:
                if urllib.request.urlopen(cls.url + "/readyz").status == 200:
                    break
            except Exception:
                time.sleep(0.05)
        cls.anthropic = anthropic.Anthropic(base_url=cls.url, api_key="sk-ant-test", max_retries=0)
        cls.openai = openai.OpenAI(base_url=cls.url + "/v1", api_key="sk-test", max_retries=0)

    @classmethod
    def tearDownClass(cls):
        for p in (cls.proxy, cls.mock):
            p.kill()
            p.wait()

    def last_upstream(self):
        with urllib.request.urlopen(self.mock_url + "/__mock/last") as r:
            return json.load(r)

    def test_anthropic_messages(self):
        msg = self.anthropic.messages.create(model="claude-x", max_tokens=10,
                                             messages=[{"role": "user", "content": "hi"}])
        self.assertEqual(msg.content[0].text, "mock answer")

    def test_anthropic_stream(self):
        with self.anthropic.messages.stream(model="claude-x", max_tokens=10,
                                            messages=[{"role": "user", "content": "hi"}]) as s:
            text = "".join(s.text_stream)
        self.assertEqual(text, "mock answer")

    def test_openai_chat(self):
        r = self.openai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        self.assertEqual(r.choices[0].message.content, "mock answer")

    def test_openai_chat_stream(self):
        chunks = self.openai.chat.completions.create(model="gpt-4o", stream=True,
                                                     messages=[{"role": "user", "content": "hi"}])
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        self.assertEqual(text, "mock answer")

    def test_openai_responses(self):
        r = self.openai.responses.create(model="gpt-5", input="hi")
        self.assertEqual(r.output_text, "mock answer")

    def test_big_tool_output_reaches_upstream_smaller(self):
        grep = "".join(f"src/pkg_{i // 40}/mod.py:{i * 3 + 1}:    value = compute_{i}(x)\n" for i in range(400))
        msgs = [
            {"role": "user", "content": "find the callers"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "bash",
                                               "input": {"command": "grep -rn compute_ src"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": grep}]},
        ]
        msg = self.anthropic.messages.create(model="claude-x", max_tokens=10, messages=msgs)
        self.assertEqual(msg.content[0].text, "mock answer")
        sent = json.loads(self.last_upstream()["body"])
        forwarded = sent["messages"][2]["content"][0]["content"]
        self.assertLess(len(forwarded), len(grep))
        self.assertEqual(sent["messages"][1], msgs[1])


if __name__ == "__main__":
    unittest.main(verbosity=2)
