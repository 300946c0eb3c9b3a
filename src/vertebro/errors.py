"""Errors meant for the person at the keyboard: one clear sentence saying what to do next."""

from __future__ import annotations


class VertebroError(Exception):
    """A failure the user can act on; the CLI prints its message and exits non-zero, no traceback."""

    exit_code = 1
