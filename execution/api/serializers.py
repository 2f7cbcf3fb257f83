from __future__ import annotations

import copy
import json
from typing import Any, ClassVar

from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from execution.conf import execution_settings
from execution.models import Job, JobStatus
from execution.pagination import JOB_COUNT_LIMIT
from execution.validation import ExecutionRequest, check_options_size, unstorable_reason
from registry.models import PluginRegistry


class FieldsBuiltOnce:
    """A serializer's fields, built once per class and copied for each instance.

    DRF deep-copies a Serializer's declared fields for every instance (re-running each field's
    ``__init__``) and rebuilds a ModelSerializer's from its model, which on the execution path
    cost more than the rest of a response. A field is bound to one serializer, so each instance
    still gets its own; a shallow copy is enough for a field with no fields of its own, as
    ``bind`` sets attributes and mutates nothing it shares. One with children is deep-copied."""

    _built_fields: ClassVar[dict[type, dict[str, serializers.Field]]] = {}

    def get_fields(self) -> dict[str, serializers.Field]:
        built = FieldsBuiltOnce._built_fields
        if type(self) not in built:
            built[type(self)] = super().get_fields()  # type: ignore[misc]
        return {
            name: copy.deepcopy(field) if _has_children(field) else copy.copy(field)
            for name, field in built[type(self)].items()
        }


def _has_children(field: serializers.Field) -> bool:
    nested = isinstance(field, serializers.BaseSerializer | serializers.ManyRelatedField)
    return nested or hasattr(field, "child")


@extend_schema_field(
    {
        "type": "string",
        "format": "byte",
        "description": "The image, base64-encoded (or a data: URL).",
    }
)
class ImageInputField(serializers.Field):
    """A base64 string (JSON or form field) or an uploaded file part, passed on unread.

    Whether it decodes, fits the size limit and matches its MIME type is decided by the
    ToolRunner's validation, so the answer is the same whichever way the image came in. A value
    of another type (a number, an object) is the request's shape gone wrong, refused here as
    ``mime_type``'s and ``options``' are: REQUEST_INVALID, no job, the Idempotency-Key free.
    """

    def to_internal_value(self, data: Any) -> Any:
        if data is None or isinstance(data, str | UploadedFile):
            return data
        raise serializers.ValidationError("Send the image as a base64 string or a file part.")

    def to_representation(self, value: Any) -> Any:
        return None


@extend_schema_field(
    {"type": "object", "additionalProperties": True, "description": "Options for the plugin."}
)
class OptionsField(serializers.Field):
    """Plugin options. A multipart form can only send text (a field or a file part), so a string
    holding a JSON object is parsed; anything else goes on as sent, for the ToolRunner to accept
    or refuse."""

    def to_internal_value(self, data: Any) -> Any:
        limit = execution_settings.MAX_OPTIONS_BYTES
        if isinstance(data, UploadedFile):
            # A form's options as a file part (curl -F options=@options.json): its text, read no
            # further than one byte past the limit.
            data = data.read(limit + 1).decode("utf-8", "surrogateescape")
        # At the door: options too large are refused before any job is stored (413).
        check_options_size(data, max_bytes=limit)
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else {}
            except (ValueError, RecursionError):
                # Not JSON, an integer past Python's 4,300 digits, or nested past the recursion
                # limit: the text goes on as sent, and the ToolRunner refuses it as options.
                return data
        if unstorable := unstorable_reason(data):
            # The options are stored with the job, and a JSON column refuses these (PostgreSQL's
            # jsonb among them): refuse them here, as a client error, not as a database failure.
            raise serializers.ValidationError(f"options must not contain {unstorable}.")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class AnalyzeRequestSerializer(FieldsBuiltOnce, serializers.Serializer):
    plugin = serializers.CharField(max_length=100, help_text="Name of the plugin to run.")
    image = ImageInputField(
        required=False, allow_null=True, help_text="Base64 image, or a file part in multipart."
    )
    mime_type = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=100,
        help_text="Declared image type; defaults to an uploaded file part's content type.",
    )
    options = OptionsField(required=False, allow_null=True, help_text="Plugin options.")

    def validate_image(self, value: Any) -> Any:
        # A file part's Content-Type becomes the job's mime_type, and a text column refuses NUL
        # (PostgreSQL's among them); the text fields get the same refusal from DRF's validators.
        if isinstance(value, UploadedFile) and "\x00" in (value.content_type or ""):
            raise serializers.ValidationError("The file part's Content-Type must not contain NUL.")
        return value

    def to_execution_request(self) -> ExecutionRequest:
        data = self.validated_data
        image = data.get("image")
        mime_type = data.get("mime_type")
        if isinstance(image, UploadedFile) and not mime_type:
            mime_type = image.content_type
        return ExecutionRequest(
            plugin=data["plugin"], image=image, mime_type=mime_type, options=data.get("options")
        )


@extend_schema_field({"type": "string", "maxLength": 100, "example": "qr-code"})
class PluginNameField(serializers.CharField):
    """A plugin's name, with an example Swagger UI fills the form with."""


# Documentation only: both forms of the request are parsed by AnalyzeRequestSerializer. Its
# docstring is the schema component's description, so it speaks to clients.
class AnalyzeMultipartSerializer(FieldsBuiltOnce, serializers.Serializer):
    """The analysis request as a multipart form, with the image as a file part."""

    # The defaults are what Swagger UI fills the form with: empty, rather than its "string"
    # placeholder, which would be sent as a MIME type and as options, and refused.
    plugin = PluginNameField(max_length=100, help_text="Name of the plugin to run.")
    image = serializers.FileField(help_text="The image file.")
    mime_type = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Leave empty to use the file part's type.",
    )
    options = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text='Plugin options as JSON text, e.g. {"min_size": 40}; empty for none.',
    )


class JobFilterSerializer(serializers.Serializer):
    """Query filters. An empty value (``?status=``) filters nothing: DRF reads an empty form
    field as an absent one, so the schema must allow it rather than promise a 400."""

    plugin = serializers.CharField(required=False, allow_blank=True, max_length=100)
    status = serializers.CharField(
        required=False, allow_blank=True, help_text="Any case: success, SUCCESS."
    )

    def validate_status(self, value: str) -> str:
        if not value:
            return value
        status = value.upper()
        if status not in JobStatus.values:
            raise serializers.ValidationError(f"Must be one of {', '.join(JobStatus.values)}.")
        return status


class ModelSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """A ModelSerializer whose fields are built from the model once per class."""


class SyncResultSerializer(ModelSerializer):
    job_id = serializers.UUIDField(source="id")

    class Meta:
        model = Job
        fields = ["job_id", "status", "plugin", "result", "execution_time_ms"]


class AcceptedJobSerializer(ModelSerializer):
    job_id = serializers.UUIDField(source="id")

    class Meta:
        model = Job
        fields = ["job_id", "status", "plugin", "created_at"]


class JobResultSerializer(ModelSerializer):
    job_id = serializers.UUIDField(source="id")

    class Meta:
        model = Job
        fields = ["job_id", "status", "plugin", "result", "error", "execution_time_ms"]


class JobSummarySerializer(ModelSerializer):
    """A job in a list: neither its options nor its result, which the detail and result
    endpoints carry, so a page's size does not depend on what clients or plugins sent."""

    job_id = serializers.UUIDField(source="id")
    error = serializers.JSONField(allow_null=True, help_text="The error envelope of a failed job.")

    class Meta:
        model = Job
        fields = [
            "job_id",
            "plugin",
            "mode",
            "status",
            "mime_type",
            "image_size",
            "image_sha256",
            "execution_time_ms",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


class JobSerializer(JobSummarySerializer):
    class Meta(JobSummarySerializer.Meta):
        fields = [*JobSummarySerializer.Meta.fields, "options"]


class JobPageSerializer(serializers.Serializer):
    """A page of jobs, as ``JobPagination`` renders it (documentation only)."""

    count = serializers.IntegerField(
        min_value=0,
        max_value=JOB_COUNT_LIMIT,
        help_text=f"How many jobs the list holds, counted up to {JOB_COUNT_LIMIT:,}.",
    )
    count_exact = serializers.BooleanField(
        help_text=(
            f"False when the list holds more than {JOB_COUNT_LIMIT:,} jobs: `count` stopped "
            "there. `next` reaches them all."
        )
    )
    next = serializers.URLField(
        allow_null=True, help_text="The next (older) page, by cursor; null on the last page."
    )
    previous = serializers.URLField(
        allow_null=True, help_text="The previous (newer) page, by cursor; null on the first."
    )
    results = JobSummarySerializer(many=True)


class PluginSerializer(ModelSerializer):
    avg_execution_time_ms = serializers.FloatField(allow_null=True, read_only=True)
    error_count = serializers.IntegerField(
        read_only=True, help_text="plugin_fault_count + input_refused_count."
    )

    class Meta:
        model = PluginRegistry
        fields = [
            "name",
            "version",
            "description",
            "state",
            "reason",
            "options_schema",
            "output_schema",
            "success_count",
            "error_count",
            "plugin_fault_count",
            "input_refused_count",
            "last_execution_time_ms",
            "avg_execution_time_ms",
            "last_used",
        ]
