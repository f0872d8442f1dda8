"""Celery task: process one AI interaction record on the worker's event loop."""

from app.tasks.celery_app import celery_app
from app.tasks.worker_runtime import get_runtime


@celery_app.task(name="app.tasks.ai_interaction_task.process_ai_record")
def process_ai_record(record_id: str) -> bool:
    """True when this run produced a reply; False when failed or already taken elsewhere."""
    runtime = get_runtime()
    return runtime.run(runtime.worker.ai.service.process_ai_request(record_id)) is not None
