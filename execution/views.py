"""Views of the operator's dashboard outside the admin's own (the admin wraps and routes them)."""

from __future__ import annotations

import io
import uuid

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from PIL import Image

from execution.conf import execution_settings
from execution.models import Job
from execution.services.rerun import job_kept_image

THUMBNAIL_PIXELS = (320, 320)


def job_image_thumbnail(
    request: HttpRequest, *, job_id: uuid.UUID, jobs: QuerySet[Job], allowed: bool
) -> HttpResponse:
    """A PNG thumbnail of a job's kept input, drawn here: the stored file is never served as it
    is (nor from MEDIA_URL), and every accepted format (TIFF too) shows in a browser."""
    if not allowed:
        raise PermissionDenied
    job = jobs.filter(pk=job_id).first()
    data = job_kept_image(job=job) if job is not None else None
    if data is None:
        raise Http404("The image is not kept.")
    try:
        with Image.open(io.BytesIO(data)) as picture:
            if picture.width * picture.height > execution_settings.MAX_IMAGE_PIXELS:
                raise Http404("The image is too large to draw.")
            picture.thumbnail(THUMBNAIL_PIXELS)
            out = io.BytesIO()
            picture.convert("RGBA").save(out, "PNG")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise Http404("The image cannot be drawn.") from error
    response = HttpResponse(out.getvalue(), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response
