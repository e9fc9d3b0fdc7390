"""The demo's live view: `interlock run`'s log lines (`[task/step] line`, the steps' JSON logs and
the runner's `[run/pipeline]` lines) turned into what a person follows: which task runs, what it
changes, the canary's weight and verdict at every look, the warming's progress."""
from __future__ import annotations

import json
import re
import sys
import time
from typing import Any, TextIO

LINE = re.compile(r"^\[(?P<label>[^/\]]+)/(?P<step>[^\]]+)\] (?P<text>.*)$")
SYSTEMS = {"vertex": "Vertex AI", "istio": "Istio", "looker": "Looker"}


class Style:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.tty else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def green(self, text: str) -> str:
        return self._wrap("32", text)

    def red(self, text: str) -> str:
        return self._wrap("31", text)

    def yellow(self, text: str) -> str:
        return self._wrap("33", text)


def system_of(task: str) -> str:
    return SYSTEMS.get(task.split("-")[0], "")


def split(value: Any) -> str:
    """A traffic split or weights (a dict, or its JSON) as `a=90, b=10`, long deployment ids cut
    to their last 6 digits."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if not isinstance(value, dict):
        return str(value)
    return ", ".join(f"…{k[-6:]}={v}" if len(k) > 12 else f"{k}={v}" for k, v in value.items()) or "no traffic"


def bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total) if total else width
    return "█" * filled + "░" * (width - filled)


class LiveView:
    """Feed it every stderr line of the run; it prints as things happen. `errors` keeps each
    pipeline task's error message, `warnings` its warnings, `started` when each began (seconds
    into the run)."""

    def __init__(self, run_name: str, out: TextIO | None = None, tty: bool | None = None) -> None:
        self.run_name, self.out = run_name, out or sys.stdout
        self.style = Style(self.out.isatty() if tty is None else tty)
        self.t0 = time.monotonic()
        self.started: dict[str, float] = {}
        self.errors: dict[str, str] = {}
        self.warnings: dict[str, list[str]] = {}
        self._live = ""                      # the line being rewritten in place (a TTY only)
        self._seen: set[tuple[str, str]] = set()

    # --- printing ------------------------------------------------------------------------------
    def _clock(self) -> str:
        return f"{time.monotonic() - self.t0:6.1f}s"

    def say(self, text: str, *, stamp: bool = True) -> None:
        self._clear()
        print(f"{self.style.dim(self._clock()) if stamp else ' ' * 7}  {text}", file=self.out, flush=True)

    def live(self, text: str) -> None:
        """A line rewritten in place on a terminal (looks, warming); elsewhere only the last one
        of a run of them is printed, when the next line comes."""
        self._live = f"{' ' * 9}{text}"
        if self.style.tty:
            print(f"\r\033[K{self._live}", end="", file=self.out, flush=True)

    def _clear(self) -> None:
        if not self._live:
            return
        if self.style.tty:
            print("\r\033[K", end="", file=self.out)
        else:
            print(self._live, file=self.out)
        self._live = ""

    def close(self) -> None:
        if self._live and not self.style.tty:
            print(self._live, file=self.out)
        elif self._live:
            print(file=self.out)
        self._live = ""

    # --- reading -------------------------------------------------------------------------------
    def feed(self, raw: str) -> None:
        m = LINE.match(raw.rstrip("\n"))
        if not m:
            return
        label, step, text = m["label"], m["step"], m["text"]
        if label == self.run_name and step == "pipeline":
            self._pipeline(text)
            return
        try:
            event = json.loads(text)
        except ValueError:
            return                          # not a step's JSON log line (the runner's own notes)
        if not isinstance(event, dict):
            return
        if label not in self.started:
            self.started[label] = time.monotonic() - self.t0
            task = str(event.get("task", ""))
            self.say(f"{self.style.bold('▶ ' + label):<28} {task:<20} {self.style.dim(system_of(task))}")
        self._step(label, event)

    def _pipeline(self, text: str) -> None:
        name, _, what = text.partition(": ")
        if what == "succeeded":
            took = time.monotonic() - self.t0 - self.started.get(name, 0.0)
            self.say(self.style.green(f"✓ {name}") + self.style.dim(f"  {took:.1f}s"))
        elif what.startswith("failed"):
            took = time.monotonic() - self.t0 - self.started.get(name, 0.0)
            self.say(self.style.red(f"✗ {name} failed") + self.style.dim(f"  {took:.1f}s"))
        elif what.startswith("skipped"):
            self.say(self.style.dim(f"– {name} {what}"))

    def _step(self, label: str, e: dict[str, Any]) -> None:
        msg, task, level = str(e.get("msg", "")), str(e.get("task", "")), e.get("level")
        s = self.style
        if level == "error":
            self.errors.setdefault(label, msg)
            self.say(s.red(f"  {msg}"))
            return
        if level == "warning":
            self.warnings.setdefault(label, []).append(msg)
        if task == "istio-canary-shift":
            self._canary(msg, e)
        elif msg.startswith("custom job ") and (label, msg) not in self._seen:      # vertex-train's states
            self._seen.add((label, msg))
            self.say(f"  {msg}")
        elif msg == "upload model: ok":
            self.say(f"  uploaded model version {str(e.get('target', '')).rsplit('@', 1)[-1]}")
        elif msg == "deploy model: ok":
            share = (e.get("traffic") or {}).get("0")
            self.say(f"  deployed with {share} % of the endpoint's traffic" if share else "  deployed")
        elif msg == "update endpoint traffic: ok":
            self.say(f"  the new version now serves {max((e.get('traffic') or {0: 0}).values())} % of the traffic")
        elif msg == "verified":
            self.say(s.green(f"  predictions match the golden ones; p95 {e.get('p95_ms')} ms"))
        elif msg in ("undeploy model: ok", "restore endpoint traffic: ok"):
            self.say(s.yellow(f"  ⟲ {msg.split(':')[0]}: traffic back to {split(e.get('traffic'))}"))
        elif msg.startswith("nothing to roll back"):
            self.say(s.dim(f"  {msg}"))
        elif msg in ("restore weights: changed", "restore weights: unchanged"):
            changed = msg.endswith(": changed")
            text = f"  ⟲ weights restored: {e.get('weights')}" if changed else "  weights already as recorded"
            self.say(s.yellow(text) if changed else s.dim(text))
        elif msg == "validation passed":
            self.say(s.green(f"  validation passed: {e.get('lookml_errors')} LookML, {e.get('content_errors')} "
                             "content errors"))
        elif msg.startswith(("LookML ", "content error")):
            self.say(s.yellow(f"  {msg}"))
        elif msg.endswith("datagroup: ok"):
            self.say(f"  datagroup {e.get('target')} {msg.split()[0]}ed")
        elif msg.startswith("rebuild pdt:"):
            self.say(f"  PDT {str(e.get('target', '')).removeprefix('pdt ')} rebuilt ({msg.split(': ')[1]})")
        elif msg.startswith("query ") and "progress" in e:
            done, total = (int(x) for x in str(e["progress"]).split("/"))
            self.live(f"warming dashboards {bar(done, total)} {done}/{total} queries")
        elif msg == "run once: ok":
            self.say(f"  delivered {e.get('target')}")

    def _canary(self, msg: str, e: dict[str, Any]) -> None:
        s = self.style
        if msg == "plan":
            self.say(f"  walking the canary through {', '.join(f'{w} %' for w in e.get('steps', []))} "
                     f"(starting from {e.get('start')}; slow means over {e.get('latency_threshold_ms')} ms)")
        elif msg.startswith("canary at "):
            self.say(s.bold(f"  canary → {e.get('weight')} %"))
        elif msg.startswith("look at "):
            decision = msg.split(": ", 1)[1]
            verdict = s.red(decision) if decision.startswith("worse") else decision
            self.live(f"look: stable {e.get('stable_requests', 0):>5.0f} · canary {e.get('canary_requests', 0):>4.0f} "
                      f"requests → {verdict}")
        elif msg.startswith("step ") and msg.endswith("passed"):
            self.say(s.green(f"  ✓ {msg} (canary {e.get('canary_requests', 0):.0f}, stable "
                             f"{e.get('stable_requests', 0):.0f} requests)"))
        elif msg.startswith("rolling back"):
            self.say(s.yellow(f"  ⟲ {msg}: {e.get('reason')}"))
        elif msg.startswith("roll back:"):
            self.say(s.yellow(f"  ⟲ weights back to {e.get('weights')}"))
        elif msg == "promote canary: ok":
            self.say(s.green(f"  promoted: {e.get('weights')}"))
