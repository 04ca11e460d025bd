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


class ProxyFixture(unittest.TestCase):
    """A mock upstream and `headroom proxy` in front of it, with both SDKs pointed at it."""

    # More environment for the proxy (a subclass's).
    proxy_env = {}

    @classmethod
    def setUpClass(cls):
        cls.mock, cls.mock_url = start([os.path.join(BIN, "examples", "mock_upstream")])
        env = dict(os.environ, HEADROOM_PORT="0", ANTHROPIC_TARGET_API_URL=cls.mock_url,
                   OPENAI_TARGET_API_URL=cls.mock_url, **cls.proxy_env)
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



class UpstreamFaults(ProxyFixture):
    """What the SDKs make of the proxy's answers to a slow upstream: its bounds set to 1 s, the
    mock holding a stream's last event (5 s) or delaying its answer (3 s). Each SDK raises its
    own API error, never hangs or fails to parse."""

    proxy_env = {"HEADROOM_STREAM_IDLE_TIMEOUT_SECS": "1", "HEADROOM_UPSTREAM_TIMEOUT_SECS": "1"}

    def test_anthropic_stream_stall_raises_the_sdk_error(self):
        started = time.monotonic()
        with self.assertRaises(anthropic.APIStatusError) as raised:
            with self.anthropic.messages.stream(model="claude-x", max_tokens=10,
                                                messages=[{"role": "user", "content": "hi"}],
                                                extra_headers={"x-mock-hold-last": "1"}) as s:
                for _ in s.text_stream:
                    pass
        self.assertIn("stream idle timeout", str(raised.exception))
        self.assertLess(time.monotonic() - started, 4)

    def test_openai_chat_stall_after_the_last_chunk_ends_the_stream_whole(self):
        # The mock holds `[DONE]`, after the chunk with the finish reason: the answer is whole,
        # so the stream ends cleanly at the idle bound, without an error.
        started = time.monotonic()
        stream = self.openai.chat.completions.create(model="gpt-4o", stream=True,
                                                     messages=[{"role": "user", "content": "hi"}],
                                                     extra_headers={"x-mock-hold-last": "1"})
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        self.assertEqual(text, "mock answer")
        self.assertLess(time.monotonic() - started, 4)

    def test_silent_upstream_is_a_504_each_sdk_understands(self):
        with self.assertRaises(anthropic.APIStatusError) as raised:
            self.anthropic.messages.create(model="claude-x", max_tokens=10,
                                           messages=[{"role": "user", "content": "hi"}],
                                           extra_headers={"x-mock-delay-ms": "3000"})
        self.assertEqual(raised.exception.status_code, 504)
        self.assertEqual(raised.exception.body["error"]["type"], "timeout_error")
        with self.assertRaises(openai.APIStatusError) as raised:
            self.openai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                                extra_headers={"x-mock-delay-ms": "3000"})
        self.assertEqual(raised.exception.status_code, 504)
        self.assertEqual(raised.exception.body["code"], "timeout")


class SdkThroughProxy(ProxyFixture):
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



def log_output():
    """A log the engine shortens with a retrieval marker."""
    lines = [f"2024-05-01 12:00:{i % 60:02d} INFO worker-{i % 4} processed batch {i} in {i % 17} ms"
             for i in range(600)]
    lines[300] = "2024-05-01 12:05:00 ERROR worker-2 failed batch 300: connection reset"
    return "\n".join(lines)


class RetrievalThroughSdks(ProxyFixture):
    """The mock model calls `headroom_retrieve` for the marker it sees; the proxy answers the
    call and splices the continuation in, so each SDK sees one ordinary answer."""

    LOG = log_output()
    EXPECTED = f"retrieved {len(LOG)} chars: {LOG.splitlines()[0]}"
    HEADERS = {"x-mock-retrieve": "1"}

    def test_anthropic_stream_gets_the_continuation(self):
        msgs = [
            {"role": "user", "content": "What failed?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "bash",
                                               "input": {"command": "cat app.log"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": self.LOG}]},
        ]
        with self.anthropic.messages.stream(model="claude-sonnet-4-5", max_tokens=100, messages=msgs,
                                            extra_headers=self.HEADERS) as s:
            text = "".join(s.text_stream)
            final = s.get_final_message()
        self.assertEqual(text, "Let me look." + self.EXPECTED)
        self.assertEqual([b.type for b in final.content], ["text", "text"])
        self.assertEqual(final.stop_reason, "end_turn")

    def test_anthropic_json_gets_the_continuation(self):
        msgs = [{"role": "user", "content": "Summarise this log:\n" + self.LOG}]
        # A log pasted by a person is kept whole: no marker, no tool, no retrieval.
        msg = self.anthropic.messages.create(model="claude-x", max_tokens=10, messages=msgs,
                                             extra_headers=self.HEADERS)
        self.assertEqual(msg.content[0].text, "no marker in view")

    def test_openai_chat_stream_gets_the_continuation(self):
        msgs = [
            {"role": "user", "content": "What failed?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {
                "name": "bash", "arguments": "{\"command\":\"cat app.log\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": self.LOG},
        ]
        chunks = list(self.openai.chat.completions.create(model="gpt-4o", stream=True, messages=msgs,
                                                          extra_headers=self.HEADERS))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        self.assertEqual(text, "Let me look." + self.EXPECTED)
        self.assertFalse(any(c.choices and c.choices[0].delta.tool_calls for c in chunks))
        r = self.openai.chat.completions.create(model="gpt-4o", messages=msgs, extra_headers=self.HEADERS)
        self.assertEqual(r.choices[0].message.content, "Let me look." + self.EXPECTED)
        self.assertIsNone(r.choices[0].message.tool_calls)

    def test_openai_responses_stream_gets_the_continuation(self):
        items = [
            {"role": "user", "content": "What failed?"},
            {"type": "function_call", "call_id": "c1", "name": "bash", "arguments": "{\"command\":\"cat app.log\"}"},
            {"type": "function_call_output", "call_id": "c1", "output": self.LOG},
        ]
        # Stateless, as Codex sends it: a stored stream would not be offered the tool.
        with self.openai.responses.stream(model="gpt-5", input=items, store=False,
                                          extra_headers=self.HEADERS) as s:
            deltas = "".join(e.delta for e in s if e.type == "response.output_text.delta")
            final = s.get_final_response()
        self.assertEqual(deltas, self.EXPECTED)
        self.assertEqual(final.output_text, self.EXPECTED)
        self.assertEqual([i.type for i in final.output], ["message"])


class RetrievalRoundsThroughSdks(ProxyFixture):
    """After a proxy-answered retrieval, each SDK's final message reports the usage of every
    round (the mock reports distinct counts per round), and what the client holds is accepted
    when it sends it back: the mock refuses, as the providers do, thinking blocks whose prefix
    changed and reasoning items without the item they preceded."""

    LOG = log_output()
    RETRIEVE = {"x-mock-retrieve": "1"}
    AGENT = {"x-mock-retrieve": "1", "x-mock-client-tool": "1"}
    BASH = [{"name": "bash", "description": "Run a command", "input_schema": {"type": "object"}}]

    def log_turn(self):
        return [
            {"role": "user", "content": "What failed?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "bash",
                                               "input": {"command": "cat app.log"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": self.LOG}]},
        ]

    def test_anthropic_stream_usage_covers_every_round(self):
        with self.anthropic.messages.stream(model="claude-sonnet-4-5", max_tokens=100, messages=self.log_turn(),
                                            tools=self.BASH, extra_headers=self.RETRIEVE) as s:
            final = s.get_final_message()
        u = final.usage
        # Call round + reply round, as the mock reports them.
        self.assertEqual((u.input_tokens, u.output_tokens), (10 + 20, 3 + 5))
        self.assertEqual((u.cache_creation_input_tokens, u.cache_read_input_tokens), (100 + 200, 1000 + 2000))

    def test_openai_stream_usage_covers_every_round(self):
        msgs = [
            {"role": "user", "content": "What failed?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {
                "name": "bash", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": self.LOG},
        ]
        chunks = list(self.openai.chat.completions.create(model="gpt-4o", stream=True, messages=msgs,
                                                          stream_options={"include_usage": True},
                                                          extra_headers=self.RETRIEVE))
        usages = [c.usage for c in chunks if c.usage]
        self.assertEqual(len(usages), 1)
        u = usages[0]
        self.assertEqual((u.prompt_tokens, u.completion_tokens, u.total_tokens), (30, 8, 38))
        self.assertEqual(u.prompt_tokens_details.cached_tokens, 12)
        self.assertEqual(u.completion_tokens_details.reasoning_tokens, 3)

        items = [
            {"role": "user", "content": "What failed?"},
            {"type": "function_call", "call_id": "c1", "name": "bash", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": self.LOG},
        ]
        with self.openai.responses.stream(model="gpt-5", input=items, store=False,
                                          extra_headers=self.RETRIEVE) as s:
            final = s.get_final_response()
        u = final.usage
        self.assertEqual((u.input_tokens, u.output_tokens, u.total_tokens), (30, 8, 38))
        self.assertEqual(u.input_tokens_details.cached_tokens, 12)
        self.assertEqual(u.output_tokens_details.reasoning_tokens, 3)

    def test_claude_code_shape_with_thinking_resends_what_it_got(self):
        thinking = {"type": "enabled", "budget_tokens": 1024}
        msgs = [{"role": "user", "content": "What failed?"}]

        def step(messages):
            with self.anthropic.messages.stream(model="claude-sonnet-4-5", max_tokens=2000, messages=messages,
                                                tools=self.BASH, thinking=thinking, extra_headers=self.AGENT) as s:
                return s.get_final_message()

        first = step(msgs)  # thinks, then runs `ls`
        self.assertEqual([b.type for b in first.content], ["thinking", "text", "tool_use"])
        msgs += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": first.content[2].id,
                                               "content": self.LOG}]}]
        second = step(msgs)  # retrieves behind the marker (answered by the proxy), then runs `ls` again
        self.assertEqual([b.type for b in second.content], ["thinking", "text", "text", "tool_use"])
        self.assertTrue(second.content[0].signature)
        msgs += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in second.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": second.content[3].id,
                                               "content": "a.txt"}]}]
        step(msgs)  # refused by the mock (an APIStatusError or an error event) if the turn were invalid

    def test_codex_shape_with_reasoning_resends_what_it_got(self):
        items = [{"role": "user", "content": "What failed?"}]
        tools = [{"type": "function", "name": "shell", "parameters": {"type": "object"}}]

        def step(inputs):
            with self.openai.responses.stream(model="gpt-5", input=inputs, tools=tools, store=False,
                                              include=["reasoning.encrypted_content"],
                                              reasoning={"effort": "medium", "summary": "auto"},
                                              extra_headers=self.AGENT) as s:
                return s.get_final_response()

        first = step(items)
        self.assertEqual([i.type for i in first.output], ["reasoning", "message", "function_call"])
        items += [i.model_dump(exclude_none=True) for i in first.output]
        items.append({"type": "function_call_output", "call_id": first.output[2].call_id, "output": self.LOG})
        second = step(items)  # the proxy answers the retrieval; its call's reasoning stays with it
        self.assertEqual([i.type for i in second.output], ["reasoning", "message", "function_call"])
        self.assertIn("retrieved", second.output_text)
        items += [i.model_dump(exclude_none=True) for i in second.output]
        items.append({"type": "function_call_output", "call_id": second.output[2].call_id, "output": "a.txt"})
        step(items)


if __name__ == "__main__":
    unittest.main(verbosity=2)
