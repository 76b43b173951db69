"""Kedro-Viz on the small project that has run: the static build, the server's API and what Chromium draws.

Nothing here reaches the internet. kedro-viz asks PyPI for its latest version (in the CLI and behind
`/api/version`) through `requests`, and Chromium calls Google (updates, accounts, fonts) even with
background networking off; both are pointed at a proxy port that is bound here but never listens, so
every such request is refused at once, while 127.0.0.1 is reached directly.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from flaxline.pipeline_registry import session_parameters

pytestmark = pytest.mark.slow

HOST = "127.0.0.1"
KEDRO = [sys.executable, "-m", "kedro"]
# Headless and quiet; no sandbox because CI runs as root.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WINDOW = (1920, 1080)
# The sidebar and the toolbar take the left 500 px of the window; the flowchart is drawn right of them.
FLOWCHART_LEFT = 500
# Directly to 127.0.0.1, whatever proxy the machine's environment names.
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get_json(url: str):
    with LOCAL.open(url, timeout=60) as response:
        return json.load(response)


def live_members(group: int) -> list[str]:
    """The processes of a process group that have not ended (zombies have), as ``pid command``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):  # the process ended while we looked
            head, _, tail = stat.read_text().rpartition(")")
            state, _, pgrp = tail.split()[:3]
            if int(pgrp) == group and state != "Z":
                members.append(f"{stat.parent.name} {head.partition('(')[2]}")
    return members


def stop_group(leader: subprocess.Popen) -> None:
    """Ends the leader's process group (SIGTERM, then SIGKILL) and checks that none of it lives on."""
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(leader.pid, sig)
        deadline = time.monotonic() + grace
        while live_members(leader.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not live_members(leader.pid):
            break
    leader.wait(timeout=5)
    assert not live_members(leader.pid), f"still running after SIGKILL: {live_members(leader.pid)}"


@contextlib.contextmanager
def process_group(command: list[str], log: Path, **popen):
    """Runs ``command`` as the leader of a new process group, output into ``log``; ends the group on exit."""
    with log.open("wb") as output:
        leader = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, **popen)
    try:
        yield leader
    finally:
        stop_group(leader)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def free_port() -> int:
    """A free port below 49152: kedro-viz refuses ports in the ephemeral range."""
    for port in range(41410, 49152):
        with socket.socket() as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port on {HOST} between 41410 and 49151")


def graph_names(graph: dict) -> set[str]:
    """Kedro names of the task, dataset and parameter nodes of a Kedro-Viz graph (API `main` or a pipeline)."""
    return {node.get("full_name", node["name"]) for node in graph["nodes"] if node["type"] != "modularPipeline"}


def kedro_names(pipeline) -> set[str]:
    return {node.name for node in pipeline.nodes} | pipeline.datasets()


def stored_file(filepath: str) -> Path:
    """The file a dataset loads: its latest version when it is versioned."""
    path = Path(filepath)
    return max(path.iterdir()) / path.name if path.is_dir() else path


@pytest.fixture(scope="module")
def refused_proxy():
    """A proxy URL on 127.0.0.1 whose port is bound and never listens: connections to it are refused."""
    with socket.socket() as bound:
        bound.bind((HOST, 0))
        yield f"http://{HOST}:{bound.getsockname()[1]}"


@pytest.fixture(scope="module")
def viz_env(refused_proxy):
    """Environment of the kedro-viz processes: the sample's configuration, no telemetry, no internet."""
    proxies = {"http_proxy": refused_proxy, "https_proxy": refused_proxy, "all_proxy": refused_proxy, "no_proxy": HOST}
    env = {**os.environ, "KEDRO_ENV": "test", "KEDRO_DISABLE_TELEMETRY": "1"}
    for name, value in proxies.items():
        env[name] = env[name.upper()] = value
    return env


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium, which `.ci/run` installs; missing, the browser test skips, except on CI where it fails."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/run installs it with apt-get", pytrace=False)
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    return path


@pytest.fixture(scope="module")
def viz_server(small_project_run, viz_env, tmp_path_factory):
    """`kedro viz run` on the small project: the server's base URL, once its API answers."""
    port = free_port()
    log = tmp_path_factory.mktemp("kedro_viz") / "server.log"
    command = [*KEDRO, "viz", "run", "--host", HOST, "--port", str(port), "--no-browser"]
    with process_group(command, log, cwd=small_project_run, env=viz_env):
        url = f"http://{HOST}:{port}"
        deadline = time.monotonic() + 300
        while True:
            try:
                get_json(f"{url}/api/main")
                break
            except OSError:  # refused until the server listens
                if time.monotonic() > deadline:
                    pytest.fail(f"kedro viz run did not answer within 300 s:\n{tail(log)}")
                time.sleep(0.5)
        yield url


def test_viz_build_exports_the_default_pipeline_with_previews(small_project_run, viz_env, tmp_path):
    from kedro.framework.project import pipelines

    log = tmp_path / "build.log"
    # `kedro viz build` reports its failures and still exits 0: what it wrote is what counts.
    with process_group(
        [*KEDRO, "viz", "build", "--include-previews"], log, cwd=small_project_run, env=viz_env
    ) as build:
        build.wait(timeout=600)
    api = small_project_run / "build" / "api"
    assert (api / "main").is_file(), tail(log)
    main = json.loads((api / "main").read_text())
    assert graph_names(main) == kedro_names(pipelines["__default__"])
    assert {path.name for path in (api / "pipelines").iterdir()} == set(pipelines)
    figures = [node for node in main["nodes"] if node["name"].endswith("_plot")]
    assert figures
    for node in figures:
        assert json.loads((api / "nodes" / node["id"]).read_text())["preview_type"] == "ImagePreview", node["name"]
    assert (small_project_run / "build" / "index.html").is_file()


def test_the_api_serves_every_registered_pipeline_with_all_its_nodes(viz_server):
    from kedro.framework.project import pipelines

    main = get_json(f"{viz_server}/api/main")
    assert main["selected_pipeline"] == "__default__"
    assert graph_names(main) == kedro_names(pipelines["__default__"])
    assert {entry["id"] for entry in main["pipelines"]} == set(pipelines)
    for name, pipeline in pipelines.items():
        assert graph_names(get_json(f"{viz_server}/api/pipelines/{name}")) == kedro_names(pipeline), name


def test_each_task_is_a_namespace_holding_all_its_nodes(viz_server):
    for task in session_parameters()["tasks"]:
        graph = get_json(f"{viz_server}/api/pipelines/{task}")
        tasks = {node["id"] for node in graph["nodes"] if node["type"] == "task"}
        children = {child["id"] for child in graph["modular_pipelines"][task]["children"]}
        assert tasks and tasks <= children, task


def test_figures_tables_and_json_reports_are_previewed(viz_server):
    from kedro.framework.project import pipelines

    data = {node["name"]: node for node in get_json(f"{viz_server}/api/main")["nodes"] if node["type"] == "data"}
    figures = {name for name in pipelines["__default__"].datasets() if name.endswith("_plot")}
    assert figures
    for name in figures:
        node = get_json(f"{viz_server}/api/nodes/{data[name]['id']}")
        assert node["preview_type"] == "ImagePreview", name
        assert base64.b64decode(node["preview"]) == stored_file(node["filepath"]).read_bytes(), name
    tables = [name for name, node in data.items() if node["dataset_type"].endswith(("ParquetDataset", "CSVDataset"))]
    reports = [name for name, node in data.items() if node["dataset_type"].endswith("json_dataset.JSONDataset")]
    assert tables and reports
    for name in tables:
        node = get_json(f"{viz_server}/api/nodes/{data[name]['id']}")
        path = stored_file(node["filepath"])
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        assert node["preview_type"] == "TablePreview", name
        assert node["preview"]["columns"] == list(frame.columns), name
        assert 0 < len(node["preview"]["data"]) <= len(frame), name
    for name in reports:
        node = get_json(f"{viz_server}/api/nodes/{data[name]['id']}")
        assert node["preview_type"] == "JSONPreview", name
        assert json.loads(node["preview"]) == json.loads(stored_file(node["filepath"]).read_text()), name


def test_chromium_draws_the_flowchart(viz_server, chromium, refused_proxy, tmp_path):
    screenshot, log = tmp_path / "kedro_viz.png", tmp_path / "chromium.log"
    command = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--proxy-server={refused_proxy}",  # 127.0.0.1 bypasses it
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        # Virtual time runs the app's fetches and transitions to the end before the picture is taken.
        "--virtual-time-budget=10000",
        f"--screenshot={screenshot}",
        f"{viz_server}/",
    ]
    with process_group(command, log) as browser:
        browser.wait(timeout=180)
    assert screenshot.is_file(), tail(log)
    image = matplotlib.image.imread(screenshot)[..., :3]
    assert image.shape == (WINDOW[1], WINDOW[0], 3)
    colours = np.unique((image * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 100 and image.mean(axis=2).std() > 0.02, f"blank screenshot: {screenshot}"
    # Node labels are near-white text on the dark canvas; while the app loads, the canvas is empty.
    flowchart = image[:, FLOWCHART_LEFT:]
    label_pixels = (flowchart.min(axis=2) > 0.75) & (np.ptp(flowchart, axis=2) < 0.06)
    assert label_pixels.sum() > 400, f"no flowchart drawn ({label_pixels.sum()} label pixels): {screenshot}"
