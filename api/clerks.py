"""Clerks: the department queue; claim, release, complete with the task's form, delegate,
send back (退回), pause the clock."""
from __future__ import annotations

from flask import Response, g
from flask.views import MethodView
from flask_smorest import Blueprint


from api.context import services
from api.auth import roles
from api.schemas import (ROW_ID, ApplicationSchema, BulkClaimResultSchema, BulkClaimSchema, DelegateSchema,
                         PauseSchema, QueueQuerySchema, SendBackSchema, TaskAnswerSchema, TaskDetailSchema,
                         TaskSchema)
from engine.receipts import acceptance_receipt, receipt_pdf
from engine.tasks import QueueQuery

blp = Blueprint("clerks", __name__, url_prefix="/api/tasks", description="Task queues (clerks)")



@blp.route("")
class Queue(MethodView):
    @blp.arguments(QueueQuerySchema, location="query")
    @blp.response(200, TaskSchema(many=True))
    @roles("clerk")
    def get(self, query: dict):
        """My department's queue, filtered and sorted (soonest due first by default)."""
        return services().tasks.queue(g.user, QueueQuery(**query))


@blp.route("/claim")
class BulkClaim(MethodView):
    @blp.arguments(BulkClaimSchema)
    @blp.response(200, BulkClaimResultSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @roles("clerk")
    def post(self, body: dict):
        """Claim several tasks at once; each one is claimed or reported as refused."""
        return services().tasks.claim_many(g.user, body["task_ids"])


@blp.route(f"/<{ROW_ID}:task_id>")
class TaskDetail(MethodView):
    @blp.response(200, TaskDetailSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @roles("clerk")
    def get(self, task_id: int):
        """A task of my department with the form that completes it and where it can be sent back to."""
        return services().tasks.detail(g.user, task_id)


@blp.route(f"/<{ROW_ID}:task_id>/send-back")
class SendBack(MethodView):
    @blp.arguments(SendBackSchema)
    @blp.response(200, ApplicationSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(409, "CONFLICT")
    @roles("clerk")
    def post(self, body: dict, task_id: int):
        """退回: return the case to an earlier step with a reason; that step's task reappears."""
        return services().tasks.send_back(g.user, task_id, body["to"], body["reason"])


@blp.route(f"/<{ROW_ID}:task_id>/delegate")
class Delegate(MethodView):
    @blp.arguments(DelegateSchema)
    @blp.response(200, TaskSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(409, "CONFLICT")
    @roles("clerk")
    def post(self, body: dict, task_id: int):
        """Hand the task to a colleague of my department (转办)."""
        return services().tasks.delegate(g.user, task_id, body["to"])


@blp.route(f"/<{ROW_ID}:task_id>/claim")
class Claim(MethodView):
    @blp.response(200, TaskSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(409, "CONFLICT")
    @roles("clerk")
    def post(self, task_id: int):
        """Take the task; 409 if someone else has it."""
        return services().tasks.claim(g.user, task_id)


@blp.route(f"/<{ROW_ID}:task_id>/release")
class Release(MethodView):
    @blp.response(200, TaskSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(409, "CONFLICT")
    @roles("clerk")
    def post(self, task_id: int):
        """Put a task I claimed back in the queue."""
        return services().tasks.release(g.user, task_id)


@blp.route(f"/<{ROW_ID}:task_id>/complete")
class Complete(MethodView):
    @blp.arguments(TaskAnswerSchema)
    @blp.response(200, ApplicationSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(409, "CONFLICT")
    @roles("clerk")
    def post(self, answer: dict, task_id: int):
        """Complete the task with its form; the workflow advances once — a second completion gets 409."""
        return services().tasks.complete(g.user, task_id, answer)




@blp.route(f"/<{ROW_ID}:task_id>/pause")
class PauseClock(MethodView):
    @blp.arguments(PauseSchema)
    @blp.response(200, ApplicationSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(409, "CONFLICT")
    @roles("clerk")
    def post(self, pause: dict, task_id: int):
        """Stop the application's deadline clock: a supplement request or a special procedure."""
        return services().supervision.pause(g.user, task_id, pause["reason"], pause["note"])


@blp.route(f"/<{ROW_ID}:task_id>/resume")
class ResumeClock(MethodView):
    @blp.response(200, ApplicationSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(409, "CONFLICT")
    @roles("clerk")
    def post(self, task_id: int):
        """Restart the clock; the deadline moves by the paused working days."""
        return services().supervision.resume(g.user, task_id)


@blp.route(f"/<{ROW_ID}:task_id>/receipt")
class AcceptanceReceipt(MethodView):
    @blp.doc(responses={"200": {"description": "受理凭证: a one-page PDF (tracking number, matter, applicant with the "
                                               "ID masked, accepted at, promised completion date, materials, "
                                               "department)",
                                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"},
                                                             "example": "%PDF-1.4 … 受理凭证 … %%EOF"}}}})
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(409, "CONFLICT")
    @roles("clerk")
    def get(self, task_id: int):
        """The acceptance receipt (受理凭证) of an intake task my department completed as accepted,
        for the applicant to keep; 409 before it is accepted."""
        with services().sessions() as session:
            receipt = acceptance_receipt(session, g.user, task_id)
        return Response(receipt_pdf(receipt), mimetype="application/pdf", headers={
            "Content-Disposition": f'inline; filename="receipt-{receipt.tracking_no}.pdf"',
            "Cache-Control": "private, no-store"})
