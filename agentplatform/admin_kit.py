"""What the admin pages of every app share: JSON shown pretty (and escaped), JSON typed into a form, and
operations (cancel, retry, resume...) that call a service, check the staff member's permissions, say what
happened and leave an entry in Django's admin log."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import Http404, HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from agentplatform import serde
from agentplatform.errors import ApplicationError

T = TypeVar("T")
_INDENTED = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS


def json_text(value: Any) -> str:
    """Indented JSON, keys in their order; orjson, because a thread page indents whole conversations."""
    return orjson.dumps(value, default=serde.json_default, option=_INDENTED).decode()


def pretty_json(value: Any) -> SafeString:
    """`value` as indented JSON in a <pre>, escaped: graph state and errors are whatever a graph wrote."""
    return format_html('<pre class="console-json">{}</pre>', json_text(value))


def json_from_form(text: str | None, *, what: str, blank: Any = None) -> Any:
    """The JSON an operator typed; a blank field is `blank`. Raises ApplicationError naming the field."""
    if text is None or not text.strip():
        return blank
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        example = 'e.g. "yes", 42 or {"key": "value"}'
        raise ApplicationError(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno}): {example}") from None


class OperationsAdmin(admin.ModelAdmin):
    """A ModelAdmin with POST-only operations on one object: `<object_id>/<name>/` in the admin's URL namespace."""

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj: Model) -> SafeString:
        # Django renders this checkbox through the form-widget templates, 1-2 ms per row: most of the time of a
        # 100-row list. The same markup, written directly.
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" '
            'aria-label="Select this object for an action - {}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            str(obj),
        )

    def operation_url(self, name: str, view: Callable) -> URLPattern:
        info = (self.opts.app_label, self.opts.model_name)
        wrapped = self.admin_site.admin_view(require_POST(view))
        return path(f"<path:object_id>/{name}/", wrapped, name=f"{info[0]}_{info[1]}_{name}")

    def object_or_404(self, request: HttpRequest, object_id: str) -> Model:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with id {object_id}")
        return obj

    def change_url(self, obj: Model) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[quote(obj.pk)])

    def require(self, request: HttpRequest, obj: Model, *perms: str) -> None:
        """Operations change the object: its change permission, plus `perms` (e.g. "runs.add_run" to start one)."""
        if not self.has_change_permission(request, obj) or not request.user.has_perms(perms):
            raise PermissionDenied

    def operate(
        self, request: HttpRequest, obj: Model, action: Callable[[], T], *, done: Callable[[T], str]
    ) -> T | None:
        """Call the service; its refusal becomes an error message, its success a message and an admin log entry."""
        try:
            result = action()
        except ApplicationError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            return None
        message = done(result)
        self.log_change(request, obj, message)
        self.message_user(request, message, messages.SUCCESS)
        return result


def search_ids(queryset: QuerySet, term: str, fields: tuple[str, ...]) -> QuerySet:
    """Admin search over UUID columns: a whole id matches exactly (an index lookup), a fragment matches the text."""
    term = term.strip()
    if not term:
        return queryset
    try:
        pk = uuid.UUID(term)
    except ValueError:
        annotated = queryset.annotate(**{f"_{name}_text": Cast(name, TextField()) for name in fields})
        return annotated.filter(_any(Q(**{f"_{name}_text__icontains": term}) for name in fields))
    return queryset.filter(_any(Q(**{name: pk}) for name in fields))


def _any(conditions) -> Q:
    combined = Q()
    for condition in conditions:
        combined |= condition
    return combined
