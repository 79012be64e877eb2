"""The REST API (``yuqing serve``): FastAPI, one router per resource, schemas apart from the ORM
models, and every query in :mod:`pipeline.store`, which the command line and the job share."""
