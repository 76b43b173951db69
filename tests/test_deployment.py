"""Deployment: the Airflow DAG of `kedro airflow create`, and the wheel of `kedro package` run outside the checkout."""

from __future__ import annotations

import ast
import io
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from importlib import metadata
from pathlib import Path

import pytest

from flaxline.models.serialization import model_from_bytes
from tests.conftest import PROJECT_ROOT, SAMPLE_PATH, TEST_ENV, corpus_sample_bytes, latest, make_small_project

pytestmark = pytest.mark.slow


def run(command: list, cwd: Path) -> str:
    """Run ``command`` as a user would (no test environment, no source path) and return its output."""
    env = {key: value for key, value in os.environ.items() if key not in ("KEDRO_ENV", "PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def dag_tasks_and_edges(source: str) -> tuple[dict[str, list[str]], set[tuple[str, str]]]:
    """The node names each Airflow task of a kedro-airflow DAG runs, and its ``upstream >> downstream`` task pairs."""
    tasks: dict[str, list[str]] = {}
    edges: set[tuple[str, str]] = set()
    for each in ast.walk(ast.parse(source)):
        if isinstance(each, ast.FunctionDef):
            task_ids = [
                keyword.value.value
                for decorator in each.decorator_list
                if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "task"
                for keyword in decorator.keywords
                if keyword.arg == "task_id"
            ]
            runs = [
                ast.literal_eval(keyword.value)
                for call in ast.walk(each)
                if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "_run_kedro_node"
                for keyword in call.keywords
                if keyword.arg == "node_names"
            ]
            if task_ids:
                tasks[task_ids[0]] = runs[0]
        elif isinstance(each, ast.BinOp) and isinstance(each.op, ast.RShift):
            edges.add((each.left.slice.value, each.right.slice.value))
    return tasks, edges


def test_the_registry_reads_the_tasks_of_the_session_conf_source_and_env(tmp_path, monkeypatch):
    """A packaged run has no conf/ where it runs: its tasks are those of --conf-source and --env."""
    from kedro.framework.project import configure_project
    from kedro.framework.session import KedroSession

    from flaxline.hooks import SessionConfigHooks
    from flaxline.pipeline_registry import register_pipelines

    conf = make_small_project(tmp_path / "project", rows=50) / "conf"
    (conf / "test" / "parameters_sst2.yml").write_text("tasks:\n  sst2:\n    default: true\n")
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.delenv("KEDRO_ENV", raising=False)
    monkeypatch.setattr(SessionConfigHooks, "config_loader", None)
    configure_project("flaxline")
    with KedroSession.create(project_path=workdir, conf_source=str(conf), env="test") as session:
        session.load_context()
    assert {node.namespace for node in register_pipelines()["__default__"].nodes} == {"tweets", "sst2"}


def test_the_airflow_dag_runs_each_node_as_one_task_in_pipeline_order(tmp_path, monkeypatch):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from flaxline.hooks import SessionConfigHooks
    from flaxline.pipeline_registry import register_pipelines

    root = make_small_project(tmp_path / "project", rows=50)
    dags = tmp_path / "dags"
    run([sys.executable, "-m", "kedro", "airflow", "create", "--group-by", "memory", "--target-dir", dags], cwd=root)
    source = (dags / "flaxline_dag.py").read_text()
    compile(source, "flaxline_dag.py", "exec")

    monkeypatch.delenv("KEDRO_ENV", raising=False)
    monkeypatch.setattr(SessionConfigHooks, "config_loader", None)
    bootstrap_project(root)
    with KedroSession.create(project_path=root) as session:
        session.load_context()
    default = register_pipelines()["__default__"]

    tasks, task_edges = dag_tasks_and_edges(source)
    # Grouped by memory, a task holds several nodes only where a MemoryDataset joins them:
    # one node per task means every dataset passed between nodes is in the catalog.
    assert sorted(tasks.values()) == sorted([node.name] for node in default.nodes)
    node_of_task = {task_id: names[0] for task_id, names in tasks.items()}
    expected = {(parent.name, child.name) for child, parents in default.node_dependencies.items() for parent in parents}
    assert {(node_of_task[upstream], node_of_task[downstream]) for upstream, downstream in task_edges} == expected


def test_the_packaged_wheel_runs_the_default_pipeline_outside_the_checkout(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(PROJECT_ROOT / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, project / name)
    run([sys.executable, "-m", "kedro", "package"], cwd=project)
    wheel = project / "dist" / f"flaxline-{metadata.version('flaxline')}-py3-none-any.whl"
    packaged_conf = project / "dist" / "conf-flaxline.tar.gz"

    venv = tmp_path / "venv"
    uv = os.environ.get("UV") or shutil.which("uv")
    run([uv, "venv", "--quiet", "--python", sys.executable, venv], cwd=tmp_path)
    run(
        [uv, "pip", "install", "--offline", "--quiet", "--no-deps", "--python", venv / "bin" / "python", wheel],
        cwd=tmp_path,
    )
    # The dependencies are this environment's, seen through a path file instead of downloaded. A
    # folder named in a path file is no site folder: the checkout's editable install there stays unseen.
    venv_packages = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (venv_packages / "flaxline_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")

    deployed_conf = tmp_path / "conf-flaxline-test.tar.gz"
    with tarfile.open(packaged_conf) as packaged, tarfile.open(deployed_conf, "w:gz") as deployed:
        for member in packaged.getmembers():
            deployed.addfile(member, packaged.extractfile(member) if member.isfile() else None)
        for name, text in TEST_ENV.items():
            member = tarfile.TarInfo(f"conf/test/{name}")
            member.size = len(text.encode())
            deployed.addfile(member, io.BytesIO(text.encode()))

    workdir = tmp_path / "workdir"
    (workdir / SAMPLE_PATH).parent.mkdir(parents=True)
    (workdir / SAMPLE_PATH).write_bytes(corpus_sample_bytes(600))
    # One epoch at one compiled width: the run is the point here, not the model.
    params = "tweets.training.loop.epochs=1,tweets.training.loop.length_multiple=128"
    run([venv / "bin" / "flaxline", "--conf-source", deployed_conf, "--env", "test", "--params", params], cwd=workdir)

    imported = run([venv / "bin" / "python", "-c", "import flaxline; print(flaxline.__file__)"], cwd=workdir)
    assert Path(imported.strip()).is_relative_to(venv_packages)
    data = workdir / "data"
    metrics = json.loads(latest(data / "08_reporting/tweets/model_metrics.json").read_text())
    assert metrics["examples"] == sum(sum(row) for row in metrics["confusion_matrix"]) > 0
    _, config = model_from_bytes(latest(data / "06_models/tweets/model.safetensors").read_bytes(), "model")
    assert (config.model.name, config.model.embed_dim) == ("lstm", 16)  # the test environment's model
