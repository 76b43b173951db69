"""``python -m flaxline`` and the ``flaxline`` entry point of a packaged wheel: runs the default pipeline (the options
of ``kedro run``), or with ``serve`` first, serves a saved model over HTTP (``kedro serve``)."""

import sys
from pathlib import Path
from typing import Any

from kedro.framework.cli.utils import find_run_command
from kedro.framework.project import configure_project


def main(*args: Any, **kwargs: Any) -> Any:
    package_name = Path(__file__).parent.name
    configure_project(package_name)
    kwargs["standalone_mode"] = not hasattr(sys, "ps1")
    arguments = list(args[0]) if args else sys.argv[1:]
    if arguments[:1] == ["serve"]:
        from flaxline.cli import serve

        return serve.main(arguments[1:], prog_name="flaxline serve", **kwargs)
    run = find_run_command(package_name)
    return run(*args, **kwargs)


if __name__ == "__main__":
    main()
