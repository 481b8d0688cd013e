"""The applicant portal's pages (网上办事大厅): find a matter, its guide, apply, my applications."""
from __future__ import annotations

from flask import render_template

from web import blp


@blp.get("/portal")
def portal_home():
    return render_template("applicant/home.html")
