"""Run every benchmark in `benchmarks/`, one after another, and regenerate its README.

Each script runs in its own subprocess (a fresh TensorFlow, no oneDNN kernels or traced
functions left over from the previous script), never two at once, with this checkout's
`nbdetect` first on `PYTHONPATH` (so a script that imports `nbdetect` measures this
checkout, not an installed copy). Its printed table (standard output) goes verbatim into
`benchmarks/README.md`, one section per benchmark with its command line and wall time,
under a header that says how to regenerate the file and on what machine it was made:
CPU, cores, memory, load average before and after each script, Python, Keras, TensorFlow,
JAX (and the peers' versions), and any accelerator TensorFlow or JAX finds. A script that
fails (or runs past `--timeout`) is recorded with its exit code and last lines of output;
the others still run. The README is rewritten after every script, so an interrupted run
keeps what it measured.

Not run unless named with `--only`: `input_checks` (it compares this checkout with a fixed
commit from before issue 13's input checks, so its ratio now also holds every later
change; run it when changing the checks).

Run (about 45 minutes on a quiet 2-core CPU, 16 of them convergence's two trainings;
`--quick`, each script's smallest flags, checks that they work in about 15 minutes, most
of it tracing ResNet50 RetinaNets: not for quoting):
    python benchmarks/run_all.py
    python benchmarks/run_all.py --only nms coco_eval --output /tmp/bench.md
    python benchmarks/run_all.py --quick --accelerator-note "none: CPU only"
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import datetime
import importlib.metadata
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

from machine import cpu_model, usable_cores

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TAIL_LINES = 30


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """One script: its flags for `--quick`, and whether it runs without `--only`.

    A full run passes `full` (usually nothing: each script's defaults are the settings
    its docstring quotes).
    """

    name: str
    quick: str = ""
    default: bool = True
    full: str = ""

    @property
    def script(self) -> Path:
        return HERE / f"{self.name}.py"

    def arguments(self, quick: bool) -> list[str]:
        return (self.quick if quick else self.full).split()


# In the order they run: the short ones first, the long training run last.
BENCHMARKS = (
    Benchmark("nms", quick="--repeats 2 --scenario default"),
    Benchmark("coco_eval", quick="--images 200 --repeats 1 --faster-repeats 1"),
    Benchmark("augmentation", quick="--passes 1 --batches 4 --warmup 2"),
    Benchmark("widgets", quick="--repeats 3 --dashboard-images 300"),
    Benchmark("adapter", quick="--quick"),
    Benchmark("retinanet", quick="--size 128 --batch 2 --repeats 1"),
    Benchmark("train_step_breakdown", quick="--size 128 --batch 2 --repeats 1"),
    # Against the last commit before the Keras-native train step (issue 14).
    Benchmark(
        "convergence",
        quick="--steps 20 --every 10 --train-examples 64 --test-examples 16",
        full="--baseline 3a3125b",
    ),
    Benchmark("input_checks", quick="--rounds 1 --passes 1 --size 128", default=False),
)
BY_NAME = {benchmark.name: benchmark for benchmark in BENCHMARKS}

# Printed by a child Python: importing TensorFlow and JAX here would keep their threads
# and memory in this process while the benchmarks run.
ACCELERATOR_PROBE = """
import json
found = {}
try:
    import tensorflow as tf
    found["TensorFlow GPUs"] = [d.name for d in tf.config.list_physical_devices("GPU")]
except Exception as error:
    found["TensorFlow GPUs"] = f"not checked: {type(error).__name__}"
try:
    import jax
    found["JAX devices"] = [f"{d.platform}:{d.device_kind}" for d in jax.devices()]
except Exception as error:
    found["JAX devices"] = f"not checked: {type(error).__name__}"
print(json.dumps(found))
"""


@dataclasses.dataclass
class Result:
    """What one script's run left: its output, exit code, wall time and the load around it."""

    benchmark: Benchmark
    command: str
    stdout: str
    stderr: str
    returncode: int | None  # None: killed at --timeout
    seconds: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]


def memory() -> str:
    """Total memory from /proc/meminfo, in GiB."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def version(package: str) -> str:
    """An installed distribution's version, read without importing it."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def git_state() -> str:
    """The checkout's commit, and whether it has uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown (no git)"
    return f"{commit or 'unknown'}" + (" with uncommitted changes" if dirty else "")


def child_environment() -> dict:
    """The scripts' environment: this checkout first on PYTHONPATH, one Keras backend."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    # Every script then uses the same backend, whatever ~/.keras/keras.json says.
    env.setdefault("KERAS_BACKEND", "tensorflow")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def accelerators(env: dict) -> dict:
    """The devices TensorFlow and JAX find, probed in a child process."""
    try:
        output = subprocess.run(
            [sys.executable, "-c", ACCELERATOR_PROBE],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout
        return json.loads(output.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError) as error:
        return {"probe": f"failed: {type(error).__name__}"}


def description(script: Path) -> str:
    """The first line of a script's module docstring."""
    try:
        docstring = ast.get_docstring(ast.parse(script.read_text()))
    except (OSError, SyntaxError):
        return ""
    return (docstring or "").strip().splitlines()[0] if docstring else ""


def run(benchmark: Benchmark, quick: bool, env: dict, timeout: float | None) -> Result:
    """Run one script to its end (or `timeout` seconds), capturing what it printed.

    Args:
        benchmark: the script.
        quick: pass its `--quick` flags instead of its full-run ones.
        env: the child's environment (`child_environment()`).
        timeout: seconds before the script and its children are killed; None: no limit.

    Returns:
        Its output, exit code (None when killed at `timeout`), wall seconds and the load
        averages before and after it.
    """
    command = [sys.executable, str(benchmark.script.relative_to(REPO))]
    command += benchmark.arguments(quick)
    shown = " ".join(["python", *command[1:]])
    load_before = os.getloadavg()
    start = time.perf_counter()
    # A session of its own: a timeout then stops the script's workers too (input_checks
    # starts its own Python processes), and nothing else.
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        returncode = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        returncode = None
        stderr += f"\n[run_all: stopped after the --timeout of {timeout:g} s]"
    except KeyboardInterrupt:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return Result(
        benchmark,
        shown,
        stdout,
        stderr,
        returncode,
        time.perf_counter() - start,
        load_before,
        os.getloadavg(),
    )


def duration(seconds: float) -> str:
    """`83.2` as `1 min 23 s`."""
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def loads(values: tuple[float, float, float]) -> str:
    """Load averages as `1.00 / 2.00 / 3.00`."""
    return " / ".join(f"{value:.2f}" for value in values)


def fenced(text: str) -> list[str]:
    """Markdown lines of a fenced block holding `text` verbatim."""
    fence = "````" if "```" in text else "```"
    return [f"{fence}text", text.rstrip("\n"), fence]


def readme(
    results: list[Result],
    pending: list[Benchmark],
    machine: dict,
    args: argparse.Namespace,
    started: str,
    pending_note: str = "not run yet",
) -> str:
    """The README's markdown: header, machine, summary table, one section per script."""
    lines = ["# Benchmarks", ""]
    if args.quick:
        lines += [
            "> **Quick run, not for quoting**: every script ran with its smallest flags "
            "(`--quick`), to check that it works; the figures are noise.",
            "",
        ]
    if args.only:
        lines += [f"> Partial run: only {', '.join(args.only)}.", ""]
    lines += [
        "Generated by `python benchmarks/run_all.py` (about 45 minutes on a quiet 2-core "
        "CPU); do not edit by hand. `--only NAME...` runs some of the scripts (and writes a "
        "README of "
        "those alone), `--quick` checks that they work. Each script ran in its own process, "
        "one after another; its table below is what it printed. On a shared machine, quote "
        "the ratios measured within one script's run, not absolute times.",
        "",
        f"- Date: {started}",
        f"- Command: `{' '.join(['python benchmarks/run_all.py', *args.argv])}`",
        f"- Checkout: {machine['git']}",
        f"- CPU: {machine['cpu']}, {machine['cores']} cores ({machine['usable']} usable)",
        f"- Memory: {machine['memory']}",
        f"- Load average (1 / 5 / 15 min) at the start: {machine['load']}",
        f"- Python {machine['python']}; "
        + ", ".join(f"{name} {value}" for name, value in machine["versions"].items()),
        f"- Keras backend: {machine['backend']}",
        f"- Accelerator: {machine['accelerator']}",
    ]
    if args.accelerator_note:
        lines.append(f"- Accelerator note: {args.accelerator_note}")
    skipped = [b.name for b in BENCHMARKS if not b.default and not args.only]
    if skipped:
        lines.append(
            f"- Not run by default: {', '.join(skipped)} (see `benchmarks/run_all.py`; "
            "run with `--only`)"
        )
    lines += ["", "| benchmark | wall time | exit code | 1-min load before / after |"]
    lines.append("|---|---|---|---|")
    for result in results:
        code = "timeout" if result.returncode is None else str(result.returncode)
        lines.append(
            f"| [{result.benchmark.name}](#{result.benchmark.name}) | "
            f"{duration(result.seconds)} | {code} | "
            f"{result.load_before[0]:.2f} / {result.load_after[0]:.2f} |"
        )
    for benchmark in pending:
        lines.append(f"| {benchmark.name} | {pending_note} | | |")

    for result in results:
        benchmark = result.benchmark
        lines += ["", f"## {benchmark.name}", ""]
        what = description(benchmark.script)
        if what:
            lines += [f"{what} (`benchmarks/{benchmark.script.name}`)", ""]
        lines += [
            f"Command: `{result.command}`"
            + ("  (quick run, not for quoting)" if args.quick else ""),
            "",
            f"Wall time: {duration(result.seconds)}; load average (1 / 5 / 15 min) before "
            f"{loads(result.load_before)}, after {loads(result.load_after)}.",
            "",
        ]
        if result.returncode == 0:
            lines += fenced(result.stdout or "(no output)")
            continue
        code = "none: stopped at --timeout" if result.returncode is None else result.returncode
        lines += [f"**Failed**, exit code {code}. Its standard output:", ""]
        lines += fenced(result.stdout or "(none)")
        tail = result.stderr.rstrip("\n").splitlines()[-TAIL_LINES:]
        lines += ["", f"The last {len(tail)} lines of its standard error:", ""]
        lines += fenced("\n".join(tail) or "(none)")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        choices=list(BY_NAME),
        help=f"run only these, in the usual order (of: {', '.join(BY_NAME)})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="each script's smallest flags: checks that they work (figures not for quoting)",
    )
    parser.add_argument(
        "--output", type=Path, default=HERE / "README.md", help="default: benchmarks/README.md"
    )
    parser.add_argument("--accelerator-note", help="a line for the README's machine section")
    parser.add_argument(
        "--timeout", type=float, help="seconds before a script is stopped (default: none)"
    )
    args = parser.parse_args()
    args.argv = sys.argv[1:]

    chosen = [b for b in BENCHMARKS if (b.name in args.only if args.only else b.default)]
    # A new script left out of BENCHMARKS would otherwise vanish from the README unnoticed.
    unlisted = sorted(
        path.name
        for path in HERE.glob("*.py")
        if path.stem not in BY_NAME and path.resolve() != Path(__file__).resolve()
    )
    if unlisted:
        print(f"not in run_all.BENCHMARKS, not run: {', '.join(unlisted)}")
    env = child_environment()
    started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load = loads(os.getloadavg())
    found = accelerators(env)
    devices = [
        device
        for value in found.values()
        if isinstance(value, list)
        for device in value
        if not device.startswith("cpu")
    ]
    machine = {
        "git": git_state(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable": usable_cores(),
        "memory": memory(),
        "load": load,
        "python": platform.python_version(),
        "versions": {
            name: version(package)
            for name, package in (
                ("Keras", "keras"),
                ("TensorFlow", "tensorflow"),
                ("JAX", "jax"),
                ("KerasCV", "keras-cv"),
                ("KerasHub", "keras-hub"),
                ("NumPy", "numpy"),
            )
        },
        "backend": env["KERAS_BACKEND"],
        "accelerator": (", ".join(devices) if devices else "none found")
        + " ("
        + "; ".join(
            f"{name}: {', '.join(value) or 'none' if isinstance(value, list) else value}"
            for name, value in found.items()
        )
        + ")",
    }

    results: list[Result] = []
    args.output.parent.mkdir(parents=True, exist_ok=True)
    for index, benchmark in enumerate(chosen, 1):
        print(f"[{index}/{len(chosen)}] {benchmark.name} ...", end=" ", flush=True)
        try:
            result = run(benchmark, args.quick, env, args.timeout)
        except KeyboardInterrupt:
            print("interrupted")
            text = readme(results, chosen[index - 1 :], machine, args, started, "interrupted")
            args.output.write_text(text)
            raise SystemExit(130) from None
        results.append(result)
        code = "timeout" if result.returncode is None else f"exit {result.returncode}"
        print(f"{duration(result.seconds)}, {code}", flush=True)
        args.output.write_text(readme(results, chosen[index:], machine, args, started))
    failed = [r.benchmark.name for r in results if r.returncode != 0]
    print(f"wrote {args.output}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
