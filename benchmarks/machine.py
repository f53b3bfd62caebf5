"""The machine and software a benchmark ran on, for the header of its table."""

from __future__ import annotations

import datetime as dt
import os
import platform
from importlib import metadata

__all__ = ["PACKAGES", "machine_info", "machine_lines"]

PACKAGES = (
    "evotune",
    "scikit-learn",
    "optuna",
    "sklearn-genetic-opt",
    "scikit-optimize",
    "hyperopt",
    "smac",
    "ConfigSpace",
    "cmaes",
    "numpy",
    "scipy",
    "deap",
    "pandas",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, str]:
    """Date, cores, CPU model, load, Python and package versions."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    info = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "load average at start": load,
        "python": platform.python_version(),
    }
    info.update({name: _version(name) for name in PACKAGES})
    return info


def machine_lines(info: dict[str, str]) -> list[str]:
    """The machine info as Markdown list lines."""
    head = [
        f"- date: {info['date']}",
        f"- machine: {info['cores']} cores, {info['cpu']}, {info['platform']}",
        f"- load average at start: {info['load average at start']}",
        f"- Python {info['python']}; "
        + ", ".join(f"{name} {info[name]}" for name in PACKAGES if name in info),
    ]
    return head
