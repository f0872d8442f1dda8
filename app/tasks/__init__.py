"""Celery app and tasks for the scaled-out shape (`AI_WORKER=celery`)."""
