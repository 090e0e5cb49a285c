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
    # Linux reports ru_maxrss in KiB.
    result["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.write(CHILD_MARK + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
