"""What offering `headroom_retrieve` costs on real Claude Code sessions (DECISIONS D25).

Replays sessions of ../shared/corpus/claude-code-sessions through `headroom proxy` (the mock
upstream records what it got, under target/offer-rule/: about 1.3 GB for all 22) and prices each
session under the benches' cache model (cached prefix 0.1x, new input 1.25x; chars/4 as tokens):
direct, the proxy as it is ("new rule": the tool from the first output the engine considered),
"old rule" (the tool from the first turn: the forwarded bodies with the tool appended where absent)
and no tool at all. Needs the release binaries (`cargo build --release -p headroom-proxy --bins
--examples`).

    python3 benches/e2e/offer_rule.py CASE[,CASE...] [cache|token]
"""
import json, os, subprocess, sys, time, urllib.request
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus", "claude-code-sessions")
sys.path.insert(0, CORPUS)
import build

def start(cmd, env=None, marker=None):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    stream = p.stderr if marker else p.stdout
    while True:
        line = stream.readline()
        if not line: raise RuntimeError("no start")
        if marker is None or marker in line: return p, line.strip()

rec = os.path.join(ROOT, "target", "offer-rule"); os.makedirs(rec, exist_ok=True)
open(rec + "/bodies.jsonl", "w").close()
mock, mock_url = start([f"{ROOT}/target/release/examples/mock_upstream"], env=dict(os.environ, MOCK_RECORD_DIR=rec))
env = dict(os.environ, HEADROOM_PORT="0", ANTHROPIC_TARGET_API_URL=mock_url, OPENAI_TARGET_API_URL=mock_url)
if len(sys.argv) > 2: env["HEADROOM_MODE"] = sys.argv[2]
proxy, line = start([f"{ROOT}/target/release/headroom", "proxy"], env=env, marker="listening on")
url = line.split("listening on ")[1]
for _ in range(100):
    try:
        urllib.request.urlopen(url + "/readyz"); break
    except Exception: time.sleep(0.05)

TOOL = None
def canon(body):
    return [json.dumps(body.get("tools")), json.dumps(body.get("system"))] + [json.dumps(m) for m in body["messages"]]

def bill(bodies):
    total = 0.0; prev = []
    for b in bodies:
        parts = canon(b); cached = 0
        for a, c in zip(prev, parts):
            if a != c:
                cached += len(os.path.commonprefix([a, c])); break
            cached += len(c)
        size = sum(map(len, parts))
        total += (0.1 * cached + 1.25 * (size - cached)) / 4
        prev = parts
    return total

names = sys.argv[1].split(",")
rows = []
for name in names:
    case = json.load(open(f"{CORPUS}/cases/{name}.json"))
    n = len(case["requests"])
    direct = []
    start_line = sum(1 for _ in open(rec + "/bodies.jsonl"))
    for k in range(1, n + 1):
        body = build.materialize(case, k)
        direct.append(body)
        req = urllib.request.Request(url + "/v1/messages", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json", "x-api-key": "sk-" + name})
        urllib.request.urlopen(req).read()
    lines = open(rec + "/bodies.jsonl").read().splitlines()[start_line:]
    fwd = [json.loads(json.loads(l)["body"]) for l in lines]
    assert len(fwd) == n, (len(fwd), n)
    first = next((i for i, b in enumerate(fwd) if any(t.get("name") == "headroom_retrieve" for t in b.get("tools") or [])), None)
    if first is not None and TOOL is None:
        TOOL = [t for t in fwd[first]["tools"] if t.get("name") == "headroom_retrieve"][0]
    def with_tool(b):
        if TOOL is None or any(t.get("name") == "headroom_retrieve" for t in b.get("tools") or []): return b
        return dict(b, tools=(b.get("tools") or []) + [TOOL])
    def without(b):
        return dict(b, tools=[t for t in b.get("tools") or [] if t.get("name") != "headroom_retrieve"])
    d, new, old, none = bill(direct), bill(fwd), bill([with_tool(b) for b in fwd]), bill([without(b) for b in fwd])
    rows.append((name, n, first, d, new, old, none))
    print(f"{name}: {n} requests, tool from request {None if first is None else first + 1}; vs direct: "
          f"new rule {100*(new/d-1):+.2f}%, old rule {100*(old/d-1):+.2f}%, no tool {100*(none/d-1):+.2f}%", flush=True)
D = sum(r[3] for r in rows)
for label, i in (("new rule", 4), ("old rule", 5), ("no tool", 6)):
    print(f"ALL {label}: {100*(sum(r[i] for r in rows)/D-1):+.2f}% vs direct; dearer sessions: "
          f"{sum(1 for r in rows if r[i] > r[3])}")
proxy.kill(); mock.kill()
