#!/usr/bin/env python3
"""A scripted mock provider for recording what real agent CLIs send (stdlib only).

It listens on 127.0.0.1, records every request it receives (method, path, headers without
credentials, the body's exact bytes) and answers in the provider's format:

- Anthropic Messages (`POST /v1/messages`, SSE when the request streams, JSON otherwise) and
  `POST /v1/messages/count_tokens`, for Claude Code;
- OpenAI Responses (`POST /v1/responses`, SSE), and `GET /v1/models`, for Codex.

The agent request (the one that defines the client's shell tool) is answered from a short script:
each step is one tool call, chosen by how many tool results the request already carries, so the
CLI runs a bounded loop over real files; after the last step the model ends its turn with text.
Any other model request (titles, quota checks, summaries) gets a short text answer.

Usage: mock_upstream.py --scenario claude-code|codex --workdir DIR --record DIR [--port N]
Prints `listening PORT` on stdout once ready. Stops after --max-requests requests or on SIGTERM.
"""

import argparse
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET_HEADERS = {"authorization", "x-api-key", "cookie", "proxy-authorization"}
LEVELS = "ERROR|WARNING|FATAL"


def claude_code_steps(workdir):
    """Claude Code's tools, as its tool list names them (input shapes as its schemas define)."""
    log = os.path.join(workdir, "postgresql.log")
    return [
        ("Read", {"file_path": os.path.join(workdir, "pr-comments.json")}),
        ("Bash", {"command": f"cat {log}", "description": "Show the server log"}),
        ("Grep", {"pattern": LEVELS, "path": log, "output_mode": "content", "-n": True}),
        ("Grep", {"pattern": LEVELS, "path": workdir, "output_mode": "files_with_matches"}),
        ("Grep", {"pattern": LEVELS, "path": log, "output_mode": "count"}),
        ("Read", {"file_path": log, "offset": 300, "limit": 40}),
        ("Read", {"file_path": log}),
        ("Glob", {"pattern": "*.json"}),
        ("Bash", {"command": f"grep -c duration {log}; exit 3", "description": "Count and fail"}),
    ]


def codex_tools(req):
    """Every tool a Responses request defines: `tools`, and the `additional_tools` input items
    Codex sends (namespaces flattened)."""
    out = []

    def walk(ts):
        for t in ts or []:
            if t.get("type") == "namespace":
                walk(t.get("tools"))
            else:
                out.append(t)

    walk(req.get("tools"))
    for item in req.get("input") or []:
        if isinstance(item, dict) and item.get("type") == "additional_tools":
            walk(item.get("tools"))
    return out


def codex_steps(workdir, tools):
    """Codex's shell as this version defines it: `exec_command` (unified exec, a function tool),
    `shell`, or code mode's freeform `exec` tool (JavaScript calling `tools.exec_command`)."""
    kinds = {t.get("name"): t.get("type") for t in tools}
    cmds = [
        "cat pr-comments.json",
        "cat postgresql.log",
        f"grep -nE '{LEVELS}' postgresql.log",
        "sed -n '300,340p' postgresql.log; exit 3",
    ]
    patch = (
        "*** Begin Patch\n*** Add File: notes.md\n+# Findings\n+\n"
        "+- duplicate key on accounts_audit_pkey\n+- division by zero\n*** End Patch\n"
    )
    steps = []
    if "exec_command" in kinds or "shell" in kinds:
        for c in cmds:
            if "exec_command" in kinds:
                steps.append(("function", "exec_command", {"cmd": c, "workdir": workdir}))
            else:
                steps.append(("function", "shell", {"command": ["bash", "-lc", c], "workdir": workdir}))
        if kinds.get("apply_patch") == "custom":
            steps.append(("custom", "apply_patch", patch))
        elif "apply_patch" in kinds:
            steps.append(("function", "apply_patch", {"input": patch}))
    elif kinds.get("exec") == "custom":
        # Code mode: the model writes JavaScript; `text(r.output)` passes the command's output on,
        # `text(r)` the whole result object (JSON.stringify'd by `text`).
        show = ["r.output", "r", "r.output", "r"]
        for c, sh in zip(cmds, show):
            steps.append(("custom", "exec", f"const r = await tools.exec_command({json.dumps({'cmd': c})});\ntext({sh});\n"))
        steps.append(("custom", "exec", f"const r = await tools.apply_patch({json.dumps(patch)});\ntext(r);\n"))
    return steps


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.n = 0


def sse(event, data):
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-upstream"

    def log_message(self, fmt, *a):
        pass

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    def handle_any(self):
        st = self.server.state
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        with st.lock:
            st.n += 1
            n = st.n
        base = os.path.join(st.args.record, f"{n:03d}")
        headers = [[k, v] for k, v in self.headers.items() if k.lower() not in SECRET_HEADERS]
        with open(base + ".body", "wb") as f:
            f.write(body)
        path = self.path.split("?")[0]
        try:
            req = json.loads(body) if body else None
        except ValueError:
            req = None
        meta = {"n": n, "method": self.command, "path": self.path, "headers": headers,
                "body_bytes": len(body), "answer": "pending"}
        with open(base + ".meta.json", "w") as f:
            json.dump(meta, f, indent=1)
        try:
            meta["answer"] = self.answer(path, req)
        except (BrokenPipeError, ConnectionResetError):
            meta["answer"] = "client went away"
        except Exception as e:  # noqa: BLE001 - a recording tool: note it and go on
            meta["answer"] = f"mock error: {e!r}"
            import traceback
            traceback.print_exc()
        with open(base + ".meta.json", "w") as f:
            json.dump(meta, f, indent=1)
        if n >= st.args.max_requests:
            threading.Thread(target=self.server.shutdown).start()

    # --- answers -------------------------------------------------------------------------

    def send_json(self, obj, status=200):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", "req_mock")
        self.end_headers()
        self.wfile.write(data)

    def send_sse(self, chunks):
        data = b"".join(chunks)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", "req_mock")
        self.end_headers()
        self.wfile.write(data)

    def answer(self, path, req):
        scenario = self.server.state.args.scenario
        if path.endswith("/messages/count_tokens"):
            self.send_json({"input_tokens": max(1, len(json.dumps(req)) // 4)})
            return "count_tokens"
        if path.endswith("/messages") and isinstance(req, dict):
            return self.anthropic(req)
        if path.endswith("/responses") and isinstance(req, dict):
            return self.openai_responses(req)
        if path.endswith("/models"):
            if scenario == "codex":
                self.send_json({"models": []})
            else:
                self.send_json({"data": [], "has_more": False, "object": "list"})
            return "models"
        self.send_json({"error": {"type": "not_found_error", "message": f"mock: no {path}"}}, 404)
        return "404"

    # Anthropic Messages

    def anthropic(self, req):
        tools = req.get("tools") or []
        names = [t.get("name") for t in tools]
        step = None
        if "Bash" in names:
            done = sum(1 for m in req.get("messages", []) if isinstance(m.get("content"), list)
                       for b in m["content"] if b.get("type") == "tool_result")
            steps = claude_code_steps(self.server.state.args.workdir)
            if done < len(steps):
                step = (f"toolu_mock_{done:02d}",) + steps[done]
        usage = {"input_tokens": max(1, len(json.dumps(req)) // 4), "output_tokens": 12,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        model = req.get("model", "claude-mock")
        if step:
            block = {"type": "tool_use", "id": step[0], "name": step[1], "input": step[2]}
            stop = "tool_use"
        else:
            text = "Done: the log has 4 ERROR lines, 1 WARNING and 1 FATAL." if "Bash" in names else "Mock title"
            block = {"type": "text", "text": text}
            stop = "end_turn"
        msg = {"id": f"msg_mock_{self.server.state.n:03d}", "type": "message", "role": "assistant", "model": model,
               "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}
        if not req.get("stream"):
            msg.update(content=[block], stop_reason=stop)
            self.send_json(msg)
            return f"json {stop} {block.get('name', '')}".strip()
        chunks = [sse("message_start", {"type": "message_start", "message": msg})]
        if step:
            start = dict(block, input={})
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        chunks += [
            sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": start}),
            sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
            sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
            sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                  "usage": {"output_tokens": 12}}),
            sse("message_stop", {"type": "message_stop"}),
        ]
        self.send_sse(chunks)
        return f"sse {stop} {block.get('name', '')}".strip()

    # OpenAI Responses

    def openai_responses(self, req):
        items = req.get("input") or []
        if isinstance(items, str):
            items = []
        done = sum(1 for i in items if isinstance(i, dict)
                   and i.get("type") in ("function_call_output", "custom_tool_call_output"))
        steps = codex_steps(self.server.state.args.workdir, codex_tools(req))
        n = self.server.state.n
        rid = f"resp_mock_{n:03d}"
        if done < len(steps):
            kind, name, args = steps[done]
            cid = f"call_mock_{done:02d}"
            if kind == "custom":
                item = {"type": "custom_tool_call", "id": f"ctc_mock_{done:02d}", "status": "completed",
                        "call_id": cid, "name": name, "input": args}
            else:
                item = {"type": "function_call", "id": f"fc_mock_{done:02d}", "status": "completed",
                        "call_id": cid, "name": name, "arguments": json.dumps(args)}
            note = f"{kind} {name}"
        else:
            text = "Done: the log has 4 ERROR lines, 1 WARNING and 1 FATAL." if steps else "Mock answer"
            item = {"type": "message", "id": f"msg_mock_{n:03d}", "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}]}
            note = "text"
        usage = {"input_tokens": max(1, len(json.dumps(req)) // 4), "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": 12, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 0}
        usage["total_tokens"] = usage["input_tokens"] + 12
        base = {"id": rid, "object": "response", "created_at": 1764806400, "model": req.get("model", "gpt-mock"),
                "output": [], "status": "in_progress"}
        if not req.get("stream"):
            self.send_json(dict(base, status="completed", output=[item], usage=usage))
            return "json " + note
        seq = iter(range(1000))
        ev = lambda t, d: sse(t, dict({"type": t, "sequence_number": next(seq)}, **d))
        chunks = [ev("response.created", {"response": base}),
                  ev("response.in_progress", {"response": base})]
        if item["type"] == "message":
            added = dict(item, status="in_progress", content=[])
            text = item["content"][0]["text"]
            chunks += [
                ev("response.output_item.added", {"output_index": 0, "item": added}),
                ev("response.content_part.added", {"item_id": item["id"], "output_index": 0, "content_index": 0,
                                                   "part": {"type": "output_text", "text": "", "annotations": []}}),
                ev("response.output_text.delta", {"item_id": item["id"], "output_index": 0, "content_index": 0,
                                                  "delta": text}),
                ev("response.output_text.done", {"item_id": item["id"], "output_index": 0, "content_index": 0,
                                                 "text": text}),
                ev("response.content_part.done", {"item_id": item["id"], "output_index": 0, "content_index": 0,
                                                  "part": item["content"][0]}),
            ]
        else:
            chunks.append(ev("response.output_item.added", {"output_index": 0, "item": item}))
        chunks += [ev("response.output_item.done", {"output_index": 0, "item": item}),
                   ev("response.completed", {"response": dict(base, status="completed", output=[item], usage=usage)})]
        self.send_sse(chunks)
        return "sse " + note


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--scenario", choices=["claude-code", "codex"], required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--max-requests", type=int, default=80)
    args = p.parse_args()
    os.makedirs(args.record, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.state = State(args)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
