"""certcli benchmarks: run ``python bench/run.py [--quick] [--json]`` (see bench/README.md)."""
