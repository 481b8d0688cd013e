"""The applicant portal's pages (网上办事大厅), phone-width first: find a matter, its guide,
apply (秒填, uploads, the answer on screen), my applications and where each one is, bundles
and the cart (政务超市), applying for a principal (授权代办), who has looked at my data.
Each page is a shell; its script (web/static/portal-*.js) calls the JSON API."""
from __future__ import annotations

from flask import render_template

from web import blp


@blp.get("/portal")
def portal_home():
    return render_template("applicant/home.html")


@blp.get("/portal/matters/<code>")
def portal_guide(code: str):
    return render_template("applicant/guide.html", code=code)


@blp.get("/portal/apply/<code>")
def portal_apply(code: str):
    return render_template("applicant/apply.html", code=code)


@blp.get("/portal/mine")
def portal_mine():
    return render_template("applicant/mine.html")


@blp.get("/portal/applications/<reference>")
def portal_application(reference: str):
    return render_template("applicant/application.html", reference=reference)


@blp.get("/portal/cart")
def portal_cart():
    return render_template("applicant/cart.html")


@blp.get("/portal/data-access")
def portal_data_access():
    return render_template("applicant/data_access.html")
