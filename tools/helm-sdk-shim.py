#!/usr/bin/env python3
"""`helm template` for tests, rendered by Helm's own Go engine.

Machines without a `helm` binary can still render charts for real: helm-python-sdk
(PyPI) ships `libhelm_c`, Helm v4's Go SDK behind a C ABI. This script answers the
subset of the `helm` command line that Rampart uses,

    helm template [NAME] CHART [--values|-f FILE]... [--set K=V]... [--namespace|-n NS]
    helm version --short

and prints what `helm template` prints: every manifest as its own YAML document headed
by `# Source: <chart>/templates/<file>`, partials (`_*.tpl`), NOTES.txt and empty
output left out. `.ci/run` installs it as `helm` on the tests' PATH.
"""

from __future__ import annotations

import re
import sys

import helm_python as helm

USAGE = "usage: helm template [NAME] CHART [--values FILE]... [--set K=V]... [--namespace NS]"


def merge(base: dict, over: dict) -> dict:
    """Helm's merge of -f files: maps merge key by key, anything else replaces."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def template(args: list[str]) -> int:
    positional: list[str] = []
    values: dict = {}
    namespace = "default"
    i = 0
    while i < len(args):
        a = args[i]
        flag, eq, inline = a.partition("=")
        if flag in ("--values", "-f", "--set", "--namespace", "-n"):
            if eq:
                arg = inline
            elif i + 1 < len(args):
                i += 1
                arg = args[i]
            else:
                print(f"Error: flag needs an argument: {flag}", file=sys.stderr)
                return 1
            if flag in ("--values", "-f"):
                with open(arg, encoding="utf-8") as f:
                    values = merge(values, helm.values_from_yaml(f.read()) or {})
            elif flag == "--set":
                values = merge(values, helm.parse_set_string(arg))
            else:
                namespace = arg
        elif a.startswith("-"):
            print(f"Error: unknown flag: {a}\n{USAGE}", file=sys.stderr)
            return 1
        else:
            positional.append(a)
        i += 1
    if len(positional) == 1:
        name, chart_dir = "release-name", positional[0]
    elif len(positional) == 2:
        name, chart_dir = positional
    else:
        print(f"Error: expected NAME and CHART\n{USAGE}", file=sys.stderr)
        return 1
    try:
        chart = helm.Chart.load(chart_dir)
        rendered = chart.render(
            chart.merge_values(values), name=name, namespace=namespace, is_install=True
        )
    except helm.HelmError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    out = []
    for path in sorted(rendered):
        base = path.rsplit("/", 1)[-1]
        if base.startswith("_") or base == "NOTES.txt":
            continue
        for doc in re.split(r"(?:^|\s*\n)---\s*", rendered[path]):
            if doc.strip():
                out.append(f"---\n# Source: {path}\n{doc.strip()}\n")
    sys.stdout.write("".join(out))
    return 0


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["template"]:
        return template(args[1:])
    if args[:1] == ["version"]:
        print(f"v{helm.helm_sdk_version().lstrip('v')}+helm-python-sdk")
        return 0
    print(USAGE, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
