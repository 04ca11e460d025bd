#!/usr/bin/env python3
"""A stand-in agent executable (stdlib only), installed under an agent's name (codex, aider, ...).

It records what the agent would see, then behaves as the test asks:
- writes STANDIN_RECORD (JSON): argv, the routing variables of its environment, and the text of
  each file named in STANDIN_FILES (colon-separated; absent files are null);
- with STANDIN_REQUEST=anthropic|openai, makes one request to the base URL it was given
  (STANDIN_URL, or the variable STANDIN_URL_FROM names, optionally `VAR:json.path` into a JSON
  value), and records the status;
- with STANDIN_ENV_ALL=1, records its whole environment too;
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
           "COPILOT_PROVIDER_TYPE", "COPILOT_MODEL", "COPILOT_PROVIDER_API_KEY", "ANTHROPIC_API_BASE",
           "OPENCODE_CONFIG_CONTENT")


def base_url(kind):
    if os.environ.get("STANDIN_URL"):
        return os.environ["STANDIN_URL"]
    src = os.environ.get("STANDIN_URL_FROM") or ("ANTHROPIC_BASE_URL" if kind == "anthropic" else "OPENAI_BASE_URL")
    var, _, path = src.partition(":")
    value = os.environ[var]
    if path:
        value = json.loads(value)
        for k in path.split("."):
            value = value[k]
    return value


def request(kind, url):
    # Every base URL form the agents use (host only, or with /v1) leads to the same endpoint.
    root = url.rstrip("/")
    root = root[:-3] if root.endswith("/v1") else root
    if kind == "anthropic":
        body = {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
        req = urllib.request.Request(root + "/v1/messages", json.dumps(body).encode(),
                                     {"content-type": "application/json", "x-api-key": "sk-ant-test",
                                      "anthropic-version": "2023-06-01"})
    else:
        body = {"model": "gpt-5.5", "input": "hi"}
        req = urllib.request.Request(root + "/v1/responses", json.dumps(body).encode(),
                                     {"content-type": "application/json", "authorization": "Bearer sk-test"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=30) as r:
        return r.status


def main():
    rec = {"argv": sys.argv, "name": os.path.basename(sys.argv[0]),
           "env": {k: os.environ.get(k) for k in ROUTING if k in os.environ}, "files": {}}
    if os.environ.get("STANDIN_ENV_ALL"):
        rec["env_all"] = dict(os.environ)
    for f in filter(None, os.environ.get("STANDIN_FILES", "").split(":")):
        try:
            with open(f) as fh:
                rec["files"][f] = fh.read()
        except FileNotFoundError:
            rec["files"][f] = None
    kind = os.environ.get("STANDIN_REQUEST")
    if kind:
        url = base_url(kind)
        rec["request"] = {"url": url, "status": request(kind, url)}
    with open(os.environ["STANDIN_RECORD"], "w") as fh:
        json.dump(rec, fh, indent=1)
    time.sleep(float(os.environ.get("STANDIN_SLEEP", "0")))
    return int(os.environ.get("STANDIN_EXIT", "0"))


if __name__ == "__main__":
    sys.exit(main())
