"""Cold start proxy: the import time of app.py against the bare `import chalice, boto3`.

Both are timed in fresh processes of the repo's Python, run from the repo
root, interleaved (so drift hits both alike). Our own code is compiled to
bytecode first, as site-packages already is (PYTHONDONTWRITEBYTECODE may be
set, so a warm-up run alone would not write it). Two figures per process: the import
alone, timed inside the process (the primary figure: interpreter start-up
is the same for both and would hide the difference), and the whole process.
A third process imports `chalice, boto3` and pydantic's BaseModel: pydantic is a dependency
the brief fixes, and the gap between it and app.py is what our own code costs.
A separate fresh process proves no AWS client is created at import.
"""

from __future__ import annotations

import compileall
import json
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.section import Check, Section, Table

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.3
TIMED = "import time; t = time.perf_counter(); {modules}; print(time.perf_counter() - t)"
APP = "import app"
BARE = "import chalice, boto3"
WITH_PYDANTIC = ("import chalice, boto3; "
                 "from pydantic import BaseModel, ConfigDict, Field, SecretStr")
OWN_PACKAGES = ("app", "chalicelib")

# Run in a fresh process: spy on botocore's client factory, import the app,
# and report what exists afterwards.
NO_CLIENT_PROBE = """
import json, botocore.session
created = []
original = botocore.session.Session.create_client
def spy(self, *args, **kwargs):
    created.append(args[0] if args else kwargs.get("service_name"))
    return original(self, *args, **kwargs)
botocore.session.Session.create_client = spy
import app, boto3
from chalicelib import wiring
print(json.dumps({"clients_created": created,
                  "boto3_default_session_is_none": boto3.DEFAULT_SESSION is None,
                  "wiring_services_is_none": wiring._services is None}))
"""


def run(context: Any) -> Section:
    repeats = 11 if context.quick else 21
    compile_own_code()
    contenders = (APP, BARE, WITH_PYDANTIC)
    for modules in contenders:  # warm-up: fill the page cache
        time_import(modules)
    samples: dict[str, dict[str, list[float]]] = {
        modules: {"import": [], "process": []} for modules in contenders
    }
    for n in range(repeats):
        order = contenders[n % 3:] + contenders[:n % 3]
        for modules in order:
            imported, process = time_import(modules)
            samples[modules]["import"].append(imported)
            samples[modules]["process"].append(process)
    medians = {modules: {kind: statistics.median(values) for kind, values in kinds.items()}
               for modules, kinds in samples.items()}
    probe = no_client_probe()
    extra = extra_packages()
    return build_section(medians, samples, repeats, probe, extra)


def compile_own_code() -> None:
    compileall.compile_file(str(ROOT / "app.py"), quiet=1)
    compileall.compile_dir(str(ROOT / "chalicelib"), quiet=1)


def time_import(modules: str) -> tuple[float, float]:
    """(seconds importing, seconds for the whole process) of one fresh interpreter."""
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", TIMED.format(modules=modules)], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1]), time.perf_counter() - started


def no_client_probe() -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", NO_CLIENT_PROBE], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["ok"] = (not result["clients_created"] and result["boto3_default_session_is_none"]
                    and result["wiring_services_is_none"])
    return result


def extra_packages(top: int = 8) -> list[tuple[str, float]]:
    """What app.py imports beyond chalice and boto3 (packages, and our modules one by
    one), by own import time in one `-X importtime` run: where the difference is."""
    app, bare = importtime_by_package(APP), importtime_by_package(BARE)
    extra = {name: seconds for name, seconds in app.items() if name not in bare}
    return sorted(extra.items(), key=lambda pair: -pair[1])[:top]


def importtime_by_package(modules: str) -> dict[str, float]:
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", modules],
                         cwd=ROOT, check=True, capture_output=True, text=True).stderr
    totals: dict[str, float] = defaultdict(float)
    for line in err.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            module = match.group(2)
            root = module.split(".")[0]
            # Our own modules one by one; third-party code by package.
            totals[module if root in OWN_PACKAGES else root] += int(match.group(1)) / 1e6
    return dict(totals)


def build_section(medians: dict[str, dict[str, float]], samples: dict[str, Any], repeats: int,
                  probe: dict[str, Any], extra: list[tuple[str, float]]) -> Section:
    import_ratio = medians[APP]["import"] / medians[BARE]["import"]
    process_ratio = medians[APP]["process"] / medians[BARE]["process"]
    pydantic_ratio = medians[WITH_PYDANTIC]["import"] / medians[BARE]["import"]
    own_ratio = medians[APP]["import"] / medians[WITH_PYDANTIC]["import"]
    rows = [
        {"measure": "import only (in the process)", "app": medians[APP]["import"] * 1000,
         "bare": medians[BARE]["import"] * 1000, "ratio": import_ratio,
         "target": f"<= {TARGET_RATIO}", "met": import_ratio <= TARGET_RATIO},
        {"measure": "whole process (start-up + import)", "app": medians[APP]["process"] * 1000,
         "bare": medians[BARE]["process"] * 1000, "ratio": process_ratio,
         "target": "-", "met": None},
        {"measure": "`import chalice, boto3` + pydantic's BaseModel (the floor with pydantic)",
         "app": medians[WITH_PYDANTIC]["import"] * 1000,
         "bare": medians[BARE]["import"] * 1000, "ratio": pydantic_ratio,
         "target": "-", "met": None},
        {"measure": "import app vs chalice + boto3 + pydantic (our own code)",
         "app": medians[APP]["import"] * 1000,
         "bare": medians[WITH_PYDANTIC]["import"] * 1000, "ratio": own_ratio,
         "target": "-", "met": None},
    ]
    return Section(
        name="coldstart",
        title="Cold start proxy",
        how=(f"median of {repeats} fresh `python -c` processes each, interleaved, from the repo "
             "root with the repo's Python; our code compiled to bytecode first, as "
             "site-packages is; one discarded warm-up run each."),
        tables=[Table({"measure": "measure", "app": "`import app` (ms)",
                       "bare": "`import chalice, boto3` (ms)", "ratio": "ratio",
                       "target": "target", "met": "met"}, rows)],
        notes=[
            "No AWS client at import (fresh process, botocore's create_client spied on): "
            f"clients created {probe['clients_created'] or 'none'}, "
            f"`boto3.DEFAULT_SESSION is None`: {probe['boto3_default_session_is_none']}, "
            f"`chalicelib.wiring._services is None`: {probe['wiring_services_is_none']}.",
            "What app.py imports beyond chalice and boto3 (own import time, one `-X importtime` "
            "run): " + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in extra)
            + ".",
        ],
        checks=[
            Check("app import vs bare chalice + boto3", f"<= {TARGET_RATIO}x",
                  f"{import_ratio:.2f}x", import_ratio <= TARGET_RATIO),
            Check("no AWS client created at import", "none", "none" if probe["ok"] else
                  str(probe), probe["ok"]),
        ],
        data={"medians_seconds": medians, "samples_seconds": samples, "repeats": repeats,
              "import_ratio": import_ratio, "process_ratio": process_ratio,
              "pydantic_floor_ratio": pydantic_ratio, "own_code_ratio": own_ratio,
              "no_client_at_import": probe, "extra_packages_seconds": dict(extra)},
    )
