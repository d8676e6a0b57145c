"""Shared helpers for the benchmark scripts: machine facts, versions, measured subprocesses."""

from __future__ import annotations

import inspect
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"



def peak_rss_kb() -> int:
    """This process's peak resident memory in KiB.

    On Linux, ``VmHWM`` of ``/proc/self/status``: it starts afresh when a process execs, while
    ``ru_maxrss`` carries over from the process that forked it, so a child spawned by a large
    benchmark process would report the parent's peak as its own. Elsewhere ``ru_maxrss``
    (KiB on Linux, bytes on macOS)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


# Runs a Python snippet in a fresh interpreter and prints its own peak RSS as the last line, so
# every measured step has a peak of its own (not the maximum over all earlier children, nor the
# parent's: see peak_rss_kb, whose source the wrapper carries).
_WRAPPER = """
import sys
{peak}
sys.argv = {argv!r}
code = {code!r}
try:
    exec(compile(code, "<bench>", "exec"), {{"__name__": "__main__"}})
finally:
    print("__PEAK_RSS_KB__", peak_rss_kb(), flush=True)
"""


def machine() -> dict:
    """Cores, memory and platform of this machine."""
    mem = None
    try:
        with open("/proc/meminfo") as fh:
            mem = int(fh.readline().split()[1]) * 1024
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_bytes": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def versions(*packages: str) -> dict:
    """Installed versions of the given distributions."""
    out = {}
    for name in ("forecast", *packages):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def run_python(code: str, argv: list[str] | None = None, env: dict | None = None) -> dict:
    """Run ``code`` in a fresh Python process; return seconds, peak RSS and its stdout."""
    script = _WRAPPER.format(code=code, argv=["bench", *(argv or [])],
                             peak=inspect.getsource(peak_rss_kb))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark step failed:\n{proc.stderr[-4000:]}")
    lines = proc.stdout.strip().splitlines()
    peak = next(int(line.split()[1]) for line in reversed(lines) if line.startswith("__PEAK"))
    output = "\n".join(line for line in lines if not line.startswith("__PEAK"))
    return {"seconds": round(seconds, 3), "peak_rss_mb": round(peak / 1024, 1), "stdout": output}


def record(name: str, payload: dict) -> Path:
    """Write a result file with the machine and the time of the run."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    full = {"benchmark": name, "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(), **payload}
    path.write_text(json.dumps(full, indent=2, default=str) + "\n", encoding="utf-8")
    return path
