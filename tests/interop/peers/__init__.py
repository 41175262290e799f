"""Prosody and ejabberd as federation peers on loopback for interop tests (see network.py)."""
from .network import External, Federation  # noqa: F401
from .proc import PeerError  # noqa: F401
