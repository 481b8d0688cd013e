"""The supervision dashboard's pages (电子监察): deadlines (overdue and near-due cases, counts
per department and clerk, handling time against the promised limit), ratings with their
rectifications and incidents counted, and the four reductions (四减). Each chart is drawn
with Chart.js over a table of the same figures, which exports as CSV."""
from __future__ import annotations

from flask import render_template

from web import blp

# The dashboard's pages, in the order its own navigation lists them: endpoint and title.
PAGES = (("web.supervision", "办件时限"), ("web.supervision_ratings", "好差评与异常"),
         ("web.supervision_reductions", "四减"))


@blp.get("/supervision")
def supervision():
    return render_template("supervisor/deadlines.html", pages=PAGES)


@blp.get("/supervision/ratings")
def supervision_ratings():
    return render_template("supervisor/ratings.html", pages=PAGES)


@blp.get("/supervision/four-reductions")
def supervision_reductions():
    return render_template("supervisor/reductions.html", pages=PAGES)
