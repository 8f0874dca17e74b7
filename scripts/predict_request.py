#!/usr/bin/env python3
"""Send a prediction request to the model server and print what answered.

    python scripts/predict_request.py                         # one iris row to 127.0.0.1:8000
    python scripts/predict_request.py --url https://vm/api \
        --payload '{"dataframe_records": [{"sepal_length": 5.1, "sepal_width": 3.5,
                                           "petal_length": 1.4, "petal_width": 0.2}]}'
    python scripts/predict_request.py --payload-file rows.json --token "$TOKEN"

Exit codes: 0 answered, 1 the server answered an error, 2 the server is unreachable.
Standard library only, so it runs anywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import ssl
import sys
import urllib.error
import urllib.request

DEFAULT_PAYLOAD = {
    "dataframe_split": {
        "columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"],
        "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]],
    }
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("MLOPS_SERVER_URL", "http://127.0.0.1:8000"),
        help="model server base URL (default: $MLOPS_SERVER_URL or 127.0.0.1:8000)",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--payload", help="JSON body in MLflow's scoring format")
    group.add_argument("--payload-file", help="file with the JSON body")
    parser.add_argument(
        "--token",
        default=os.environ.get("MLOPS_API_TOKEN"),
        help="bearer token, when the API sits behind the proxy ($MLOPS_API_TOKEN)",
    )
    parser.add_argument("--cacert", help="CA file to trust for https (e.g. the platform's CA)")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)

    if args.payload_file:
        with open(args.payload_file, encoding="utf-8") as fh:
            body = fh.read()
    else:
        body = args.payload or json.dumps(DEFAULT_PAYLOAD)
    try:
        json.loads(body)
    except ValueError as exc:
        print(f"error: the payload is not valid JSON: {exc}", file=sys.stderr)
        return 1

    headers = {"Content-Type": "application/json"}
    if args.token:
        headers["Authorization"] = f"Bearer {args.token}"
    url = args.url.rstrip("/") + "/invocations"
    if not url.startswith(("http://", "https://")):
        print(f"error: --url must start with http:// or https://, got {args.url}", file=sys.stderr)
        return 1
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310
    context = ssl.create_default_context(cafile=args.cacert) if args.cacert else None
    try:
        # the scheme is checked above: only http(s)
        with urllib.request.urlopen(request, timeout=args.timeout, context=context) as resp:  # noqa: S310  # noqa: S310 - URL is the user's
            answer = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        with contextlib.suppress(ValueError, AttributeError):
            detail = json.loads(detail).get("error", detail)
        print(f"error: {url} answered {exc.code}: {detail}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        print(
            f"error: cannot reach {url}: {reason} (is mlops-model-server running?)", file=sys.stderr
        )
        return 2

    model = answer.get("model", {})
    print(f"model: {model.get('name')} version {model.get('version')} (alias {model.get('alias')})")
    print("predictions:", json.dumps(answer.get("predictions")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
