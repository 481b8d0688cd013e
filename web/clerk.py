"""The clerk's workbench pages (工作台): queues, the case page, front-desk intake (一窗受理)."""
from __future__ import annotations

from flask import render_template

from engine.oversight.deadlines import PAUSE_REASONS
from web import blp


@blp.get("/clerk/queue")
def clerk_queue():
    return render_template("clerk/queue.html")


@blp.get("/clerk/tasks/<int:task_id>")
def clerk_task(task_id: int):
    return render_template("clerk/task.html", task_id=task_id, pause_reasons=PAUSE_REASONS)


@blp.get("/clerk/tasks/<path:wrong>")
def clerk_no_task(wrong: str):
    """A task address that is no task number (/clerk/tasks/abc): said in the page, not as the API's JSON."""
    return render_template("clerk/no_task.html"), 404


@blp.get("/clerk/intake")
def clerk_intake():
    return render_template("clerk/intake.html")


@blp.get("/clerk/rectifications")
def clerk_rectifications():
    return render_template("clerk/rectifications.html")
