"""Child-process entry point: ``python -m bench.child module:function JSON_KWARGS``.

Runs one measurement in a fresh interpreter, so that import time, caches and
peak RSS belong to that measurement alone, and prints its result as one JSON
line (prefixed, so library output on stdout cannot be mistaken for it).
"""
import importlib
import json
import resource
import sys

from bench.common import CHILD_MARK


def main() -> None:
    target, kwargs = sys.argv[1], json.loads(sys.argv[2])
    module_name, function_name = target.split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(**kwargs)
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result["maxrss_mib"] = own.ru_maxrss / 1024  # Linux reports KiB
    result["children_maxrss_mib"] = children.ru_maxrss / 1024  # the largest worker process, if any
    # CPU seconds of this process and its (worker) children: with wall time, shows contention.
    result["cpu_seconds"] = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    sys.stdout.write(CHILD_MARK + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
