"""The virus-scan hook point: every upload is scanned before anything of it is stored.

``Scanner`` is the protocol. With nothing configured, ``NoScanner`` takes every file and
marks it not_scanned. ``CommandScanner`` (``ONEWINDOW_UPLOAD_SCAN_COMMAND``, e.g.
``clamdscan --no-summary -``) runs the command — never through a shell — with the file on
its stdin: exit 0 is clean, 1 infected (ClamAV's convention); any other exit, a command
that cannot start or one that outlasts ``timeout`` seconds is a scan that did not happen:
ServiceUnavailable (503), and nothing is stored, so no unscanned file is ever taken as clean.
"""
from __future__ import annotations

import logging
import shlex
import subprocess
from dataclasses import dataclass
from typing import Protocol

from engine.errors import ServiceUnavailable
from engine.store.models import ScanStatus

log = logging.getLogger(__name__)
CLEAN_EXIT, INFECTED_EXIT = 0, 1
SCAN_TIMEOUT = 60  # seconds
NOT_SCANNED = "病毒扫描暂时无法进行，文件未保存，请稍后再试 the virus scan did not run; nothing was stored"


class Scanner(Protocol):
    def scan(self, content: bytes) -> ScanStatus:
        """CLEAN, INFECTED or NOT_SCANNED; ServiceUnavailable if the scan failed."""


@dataclass(frozen=True)
class NoScanner:
    """No scanner configured: every file is taken, marked not_scanned."""

    def scan(self, content: bytes) -> ScanStatus:
        return ScanStatus.NOT_SCANNED


@dataclass(frozen=True)
class CommandScanner:
    command: tuple[str, ...]
    timeout: float = SCAN_TIMEOUT

    @classmethod
    def of(cls, command_line: str) -> CommandScanner:
        return cls(tuple(shlex.split(command_line)))

    def scan(self, content: bytes) -> ScanStatus:
        try:
            finished = subprocess.run(self.command, input=content, capture_output=True, timeout=self.timeout,
                                      check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.error("virus scan command %s did not run", self.command[0], exc_info=exc)
            raise ServiceUnavailable(NOT_SCANNED) from exc
        if finished.returncode == CLEAN_EXIT:
            return ScanStatus.CLEAN
        if finished.returncode == INFECTED_EXIT:
            log.warning("virus scan found an infected upload: %s", finished.stdout[-500:].decode(errors="replace"))
            return ScanStatus.INFECTED
        log.error("virus scan command %s failed (exit %s): %s", self.command[0], finished.returncode,
                  finished.stderr[-500:].decode(errors="replace"))
        raise ServiceUnavailable(NOT_SCANNED)


def scanner_for(command_line: str | None) -> Scanner:
    return NoScanner() if command_line is None else CommandScanner.of(command_line)
