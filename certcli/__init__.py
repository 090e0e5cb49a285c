"""certcli: electronic professional-qualification certificates."""

__version__ = "0.1.0"
