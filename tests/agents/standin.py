#!/usr/bin/env python3
"""A stand-in agent executable (stdlib only), installed under an agent's name (codex, aider, ...).

It records what the agent would see, then behaves as the test asks:
- writes STANDIN_RECORD (JSON): argv, the routing variables of its environment, and the text of
  each file named in STANDIN_FILES (colon-separated; absent files are null);
- with STANDIN_REQUEST=anthropic|openai, makes one request to the base URL its environment (or
  STANDIN_URL) gives it, and records the status;
- with STANDIN_SLEEP=N, then sleeps N seconds (a test kills it mid-run);
- exits with STANDIN_EXIT (default 0).
"""

import json
import os
import sys
import time
import urllib.request

ROUTING = ("ANTHROPIC_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_BASE", "OPENAI_API_KEY",
           "ANTHROPIC_API_KEY", "GOOSE_PROVIDER", "ANTHROPIC_HOST", "OPENAI_HOST", "COPILOT_PROVIDER_BASE_URL",
           "COPILOT_PROVIDER_TYPE", "COPILOT_MODEL", "COPILOT_PROVIDER_API_KEY")


def request(kind, url):
    if kind == "anthropic":
        body = {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
        req = urllib.request.Request(url.rstrip("/") + "/v1/messages", json.dumps(body).encode(),
                                     {"content-type": "application/json", "x-api-key": "sk-ant-test",
                                      "anthropic-version": "2023-06-01"})
    else:
        body = {"model": "gpt-5.5", "input": "hi"}
        req = urllib.request.Request(url.rstrip("/") + "/responses", json.dumps(body).encode(),
                                     {"content-type": "application/json", "authorization": "Bearer sk-test"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=30) as r:
        return r.status


def main():
    rec = {"argv": sys.argv, "name": os.path.basename(sys.argv[0]),
           "env": {k: os.environ.get(k) for k in ROUTING if k in os.environ}, "files": {}}
    for f in filter(None, os.environ.get("STANDIN_FILES", "").split(":")):
        try:
            with open(f) as fh:
                rec["files"][f] = fh.read()
        except FileNotFoundError:
            rec["files"][f] = None
    kind = os.environ.get("STANDIN_REQUEST")
    if kind:
        url = os.environ.get("STANDIN_URL") or (
            os.environ.get("ANTHROPIC_BASE_URL") if kind == "anthropic" else os.environ.get("OPENAI_BASE_URL"))
        rec["request"] = {"url": url, "status": request(kind, url)}
    with open(os.environ["STANDIN_RECORD"], "w") as fh:
        json.dump(rec, fh, indent=1)
    time.sleep(float(os.environ.get("STANDIN_SLEEP", "0")))
    return int(os.environ.get("STANDIN_EXIT", "0"))


if __name__ == "__main__":
    sys.exit(main())
