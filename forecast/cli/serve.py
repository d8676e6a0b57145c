"""``forecast serve``: a registered model over HTTP, with MLflow's scoring server."""

from __future__ import annotations

import os
from pathlib import Path

import click

from forecast.cli.common import config_option, load_config_for, log, workspace_option
from forecast.cli.groups import main


@main.command("serve")
@config_option
@workspace_option
@click.option("--model", "model_uri", required=True,
              help="MLflow model URI, e.g. models:/churn-risk/1 or "
                   "models:/revenue-forecaster/latest.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=5001, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes.")
def serve(config_path: Path, workspace: Path | None, model_uri: str, host: str, port: int,
          workers: int) -> None:
    """Serve a model of the workspace's tracking store over HTTP, as `mlflow models serve
    --env-manager local` does, with this environment's Python: GET /ping, POST /invocations
    with a JSON body such as {"dataframe_split": {"columns": [...], "data": [[...]]}}."""
    from forecast import tracking

    config = load_config_for(config_path, workspace)
    command, env = tracking.serve_command(model_uri, config.workspace, host, port, workers)
    log.info("serving %s on http://%s:%d (GET /ping, POST /invocations)", model_uri, host, port)
    # The server replaces this process: a stop signal reaches it directly.
    os.execve(command[0], command, env)
