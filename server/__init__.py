"""Online side of mlops-vm: the gunicorn + Flask model server and the tag watcher."""

import os

# MLflow's REST client retries for minutes by default; a server must notice an
# unreachable registry within one poll and keep serving what it has.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
