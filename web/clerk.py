"""The clerk's workbench pages (工作台): queues, the case page, front-desk intake (一窗受理)."""
from __future__ import annotations

from flask import render_template

from web import blp
