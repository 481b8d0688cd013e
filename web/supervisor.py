"""The supervision dashboard's pages (电子监察): overdue cases, counts, ratings, 四减."""
from __future__ import annotations

from flask import render_template

from web import blp
