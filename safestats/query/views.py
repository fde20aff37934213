"""The query pages: choosing a dataset, the query builder (a GET form whose results appear
below it, with their chart and map), downloads of the result and of records, saved queries,
and the platform administrator's page of jigsaw-risk alerts.

Every query goes through :func:`safestats.query.services.run_query` as the signed-in user:
the access policy, the agreement's limits and the disclosure control apply to each page and
each download, and each is audited. A refusal by the policy is shown in its own words with
status 403; problems with the query itself are shown on the form.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_safe
from pydantic import ValidationError

from safestats.access import services as access
from safestats.access.policy import Decision
from safestats.accounts.decorators import role_required
from safestats.accounts.models import Role, User
from safestats.accounts.services import signed_in_user
from safestats.audit.services import record
from safestats.catalogue import selectors as catalogue
from safestats.catalogue.models import Dataset
from safestats.organisations.models import Organisation
from safestats.query import exports, figures, services
from safestats.query.forms import QueryForm, ReviewForm, SaveForm, params_of
from safestats.query.models import JigsawAlert, SavedQuery
from safestats.query.spec import QuerySpec, measure_of
from safestats.web.refusals import refused

platform_admin = role_required(Role.PLATFORM_ADMIN)
PER_PAGE = 50
EXTRACT_FORMATS = ("csv", "xlsx", "json", "geojson")


# ------------------------------------------------------------------------------ helpers


def _dataset(dataset_id: str) -> Dataset:
    found = catalogue.dataset_by_id(dataset_id)
    if found is None:
        raise Http404("No such dataset")
    return found


def _refused(request: HttpRequest, dataset: Dataset, reason: str) -> HttpResponse:
    """The access policy said no: its reason, with status 403."""
    return render(request, "query/refused.html", {"dataset": dataset, "reason": reason}, status=403)


def _decisions(request: HttpRequest, dataset: Dataset) -> tuple[Decision, Decision]:
    user = signed_in_user(request)
    aggregate = access.decide(user, dataset.pk, "aggregate", request=request)
    records = access.decide(user, dataset.pk, "record", request=request)
    return aggregate, records


def _form(
    request: HttpRequest,
    dataset: Dataset,
    aggregate: Decision,
    records: Decision,
    *,
    counts: bool = True,
) -> QueryForm:
    limits = services.limits_of(aggregate, records)
    asked = "run" in request.GET
    return QueryForm(request.GET if asked else None, dataset=dataset, limits=limits, counts=counts)


def _asked(form: QueryForm) -> tuple[QuerySpec | None, list[str]]:
    if not form.is_bound or not form.is_valid():
        return None, []
    return form.query()


def results_context(result: services.Result, *, params: str, records: bool) -> dict[str, Any]:
    """What the results part of a page shows: the table, the chart's data, the map, the
    rules and version, and the links to download it (with the same query)."""
    dataset = result.dataset
    chart = figures.chart_of(result)
    drawn = figures.map_of(result)
    spec = dataset.parsed_spec()
    formats = ["csv", "xlsx", "json"]
    if drawn is not None and not drawn.absent:
        formats.append("geojson")
    extract_formats = ["csv", "xlsx", "json"]
    if spec.location is not None and services.limits_of(result.decision).precision in (
        "point",
        "snapped_point",
    ):
        extract_formats.append("geojson")
    return {
        "result": result,
        "table": figures.table_of(result),
        "chart": chart,
        "map": drawn,
        "params": params,
        "downloads": [
            (fmt, reverse("query:download", args=[dataset.pk, fmt]) + "?" + params)
            for fmt in formats
        ],
        "extracts": [
            (fmt, reverse("query:extract", args=[dataset.pk, fmt]) + "?" + params)
            for fmt in extract_formats
        ]
        if records
        else [],
        "save_url": reverse("query:save", args=[dataset.pk]) + "?" + params,
        "suppressed_symbol": services.SUPPRESSED,
    }


def _builder_page(
    request: HttpRequest,
    dataset: Dataset,
    form: QueryForm,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "query/builder.html",
        {"dataset": dataset, "form": form, **context},
        status=status,
    )


# ------------------------------------------------------------------------------- pages


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    entries = [e for e in catalogue.catalogue_for(user, request=request) if e.decision.allowed]
    return render(request, "query/index.html", {"entries": entries})


@require_safe
def builder(request: HttpRequest, dataset_id: str) -> HttpResponse:
    dataset = _dataset(dataset_id)
    aggregate, records = _decisions(request, dataset)
    if not aggregate.allowed:
        return _refused(request, dataset, aggregate.reason)
    form = _form(request, dataset, aggregate, records)
    query, problems = _asked(form)
    context: dict[str, Any] = {"records_allowed": records.allowed}
    if query is not None:
        try:
            result = services.run_query(query, user=signed_in_user(request), request=request)
        except services.QueryRefused as error:
            return _refused(request, dataset, " ".join(error.problems))
        except services.QueryError as error:
            problems = error.problems
        else:
            context |= results_context(
                result, params=request.GET.urlencode(), records=records.allowed
            )
    for problem in problems:
        form.add_error(None, problem)
    if request.headers.get("HX-Request") == "true":
        if form.errors:
            # The form itself shows the problems: swap the whole page's content.
            response = _builder_page(request, dataset, form, context)
            response["HX-Retarget"] = "#main-content"
            response["HX-Reselect"] = "#main-content"
            response["HX-Reswap"] = "outerHTML"
        else:
            response = render(
                request, "query/includes/results.html", {"dataset": dataset, **context}
            )
        response["Vary"] = "HX-Request"
        return response
    response = _builder_page(request, dataset, form, context)
    response["Vary"] = "HX-Request"
    return response


@require_GET  # HEAD would be audited as a query without one
def count(request: HttpRequest, dataset_id: str) -> HttpResponse:
    """The builder's live count (htmx asks for it as the form changes): how many records
    the form's filters select, answered by the query service as a query of one cell, so the
    policy, the agreement's limits and the disclosure control apply and it is audited.
    Asked for without htmx, it sends the browser to the builder (or refuses, as the
    builder would)."""
    dataset = _dataset(dataset_id)
    aggregate, records = _decisions(request, dataset)
    htmx = request.headers.get("HX-Request") == "true"
    if not htmx:
        if not aggregate.allowed:
            return _refused(request, dataset, aggregate.reason)
        target = reverse("query:builder", args=[dataset.pk])
        return redirect(f"{target}?{request.GET.urlencode()}" if request.GET else target)
    context: dict[str, Any] = {}
    if not aggregate.allowed:
        # htmx swaps only successful answers: the refusal is a fragment that says so.
        context["problem"] = aggregate.reason
    else:
        form = _form(request, dataset, aggregate, records, counts=False)
        query, problems = _asked(form)
        if query is None and not problems:
            problems = [str(error) for errors in form.errors.values() for error in errors]
        if query is not None:
            try:
                result = services.count_matching(
                    query, user=signed_in_user(request), request=request
                )
            except services.QueryError as error:
                problems = error.problems
            else:
                context |= _count_context(result)
        if problems:
            context["problem"] = problems[0]
    response = render(request, "query/includes/live_count.html", context)
    response["Vary"] = "HX-Request"
    response["Cache-Control"] = "no-store"
    return response


def _count_context(result: services.Result) -> dict[str, Any]:
    total = result.grand_total
    figure = services.SUPPRESSED
    if total.value is not None:
        figure = f"{total.value:,}" if isinstance(total.value, int) else f"{total.value:,.2f}"
    return {
        "figure": figure,
        "suppressed": total.value is None,
        "records": measure_of(result.query, result.dataset.parsed_spec()) == "count",
        "value_name": result.value_name,
        "rules": result.rules,
    }


def _problem_page(
    request: HttpRequest, dataset: Dataset, form: QueryForm, problems: list[str]
) -> HttpResponse:
    for problem in problems:
        form.add_error(None, problem)
    if not form.errors:
        form.add_error(None, "Choose what to count, then download it.")
    return _builder_page(request, dataset, form, {}, status=400)


def _filename(dataset: Dataset, version: int, fmt: str, what: str = "") -> str:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return f"{dataset.pk}-v{version}{what}-{stamp}.{fmt}"


@require_GET  # HEAD would be audited as a download without one
def download(request: HttpRequest, dataset_id: str, fmt: str) -> HttpResponseBase:
    """The result as a file, hashed and audited (``query.downloaded``). Aggregate results
    are small, so the file is made in memory and its SHA-256 taken from the same bytes."""
    if fmt not in exports.FORMATS:
        raise Http404("No such format")
    dataset = _dataset(dataset_id)
    aggregate, records = _decisions(request, dataset)
    if not aggregate.allowed:
        return _refused(request, dataset, aggregate.reason)
    form = _form(request, dataset, aggregate, records)
    query, problems = _asked(form)
    if query is None:
        return _problem_page(request, dataset, form, problems)
    user = signed_in_user(request)
    try:
        result = services.run_query(query, user=user, request=request)
    except services.QueryRefused as error:
        return _refused(request, dataset, " ".join(error.problems))
    except services.QueryError as error:
        return _problem_page(request, dataset, form, error.problems)
    buffer = io.BytesIO()
    try:
        exports.write_result(fmt, result, buffer)
    except ValueError as error:  # GeoJSON of a result with no areas, or no boundaries
        return _problem_page(request, dataset, form, [str(error)])
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    record(
        "query.downloaded",
        actor=user,
        target=dataset,
        payload={
            "version": result.version.number,
            "query": result.query.as_json(),
            "format": fmt,
            "rows": len(result.cells),
            "bytes": len(data),
            "sha256": digest,
        },
        request=request,
    )
    response = HttpResponse(data, content_type=exports.CONTENT_TYPES[fmt])
    name = _filename(dataset, result.version.number, fmt)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def extract(request: HttpRequest, dataset_id: str, fmt: str) -> HttpResponseBase:
    """The records the query selects, as the agreement allows them (record level only):
    written by the extract service to a scratch file (hashed and audited as it is
    written), then streamed from it in constant memory; the file is gone once sent."""
    if fmt not in EXTRACT_FORMATS:
        raise Http404("No such format")
    dataset = _dataset(dataset_id)
    aggregate, records = _decisions(request, dataset)
    if not records.allowed:
        return _refused(request, dataset, records.reason)
    form = _form(request, dataset, aggregate, records, counts=False)
    query, problems = _asked(form)
    if query is None:
        return _problem_page(request, dataset, form, problems)
    scratch = tempfile.NamedTemporaryFile(  # noqa: SIM115 - handed to the response below
        dir=settings.SAFESTATS_TMP_DIR, prefix="extract-", suffix=f".{fmt}", delete=False
    )
    try:
        with scratch:
            done = services.extract(
                query, fmt=fmt, out=scratch, user=signed_in_user(request), request=request
            )
        handle = open(scratch.name, "rb")  # noqa: SIM115 - FileResponse closes it
    except services.QueryRefused as error:
        os.unlink(scratch.name)
        return _refused(request, dataset, " ".join(error.problems))
    except services.QueryError as error:
        os.unlink(scratch.name)
        return _problem_page(request, dataset, form, error.problems)
    except ValueError as error:  # GeoJSON without points
        os.unlink(scratch.name)
        return _problem_page(request, dataset, form, [str(error)])
    except BaseException:
        os.unlink(scratch.name)
        raise
    # The open handle keeps the data readable; the name is gone at once, so nothing is left
    # behind however the download ends.
    os.unlink(scratch.name)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=_filename(dataset, done.version.number, fmt, "-records"),
        content_type=exports.CONTENT_TYPES[fmt],
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------------ saved queries


def _visible_saved(user: User) -> Any:
    """The saved queries ``user`` may open: their own, and those shared with their
    organisation. Others are 404, so their ids say nothing."""
    mine = Q(owner=user)
    if user.organisation_id is None:
        return SavedQuery.objects.filter(mine)
    return SavedQuery.objects.filter(mine | Q(shared=True, organisation_id=user.organisation_id))


@require_http_methods(["GET", "HEAD", "POST"])
def save(request: HttpRequest, dataset_id: str) -> HttpResponse:
    dataset = _dataset(dataset_id)
    aggregate, records = _decisions(request, dataset)
    if not aggregate.allowed:
        return _refused(request, dataset, aggregate.reason)
    user = signed_in_user(request)
    organisation = user.organisation
    if organisation is None:  # the policy refuses them already; said again for the types
        return _refused(request, dataset, "Your account does not belong to an organisation.")
    form = _form(request, dataset, aggregate, records)
    query, problems = _asked(form)
    if query is not None:
        try:
            query = services.prepare(query, user=user, request=request, level="aggregate")[2]
        except services.QueryRefused as error:
            return _refused(request, dataset, " ".join(error.problems))
        except services.QueryError as error:
            problems = error.problems
    if query is None:
        return _problem_page(request, dataset, form, problems)
    version = query.version or (dataset.current_version.number if dataset.current_version else None)
    save_form = SaveForm(request.POST if request.method == "POST" else None, version=version)
    if request.method == "POST" and save_form.is_valid():
        pinned = save_form.cleaned_data["version_choice"] == "pinned" and version is not None
        spec = query.model_copy(update={"version": version if pinned else None})
        with transaction.atomic():
            saved = _create_saved(request, user, organisation, save_form.cleaned_data, spec, pinned)
        messages.success(
            request,
            f"Saved as {saved.name}"
            + (" and shared with your organisation." if saved.shared else ", for you only."),
        )
        return redirect("query:saved_query", saved_id=saved.pk)
    return render(
        request,
        "query/save.html",
        {
            "dataset": dataset,
            "form": save_form,
            "query": query,
            "params": request.GET.urlencode(),
            "version": version,
        },
    )


def _create_saved(
    request: HttpRequest,
    user: User,
    organisation: Organisation,
    data: dict[str, Any],
    spec: QuerySpec,
    pinned: bool,
) -> SavedQuery:
    saved = SavedQuery.objects.create(
        owner=user,
        organisation=organisation,
        name=data["name"],
        spec=spec.as_json(),
        shared=data["sharing"] == "organisation",
        pinned=pinned,
    )
    record(
        "query.saved",
        actor=user,
        target=saved,
        payload={
            "name": saved.name,
            "dataset": spec.dataset,
            "query": saved.spec,
            "shared": saved.shared,
            "pinned": saved.pinned,
        },
        request=request,
    )
    return saved


@require_safe
def saved_list(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    titles = dict(Dataset.objects.values_list("pk", "title"))
    rows = [
        (saved, titles.get(str(saved.spec.get("dataset", "")), saved.spec.get("dataset", "")))
        for saved in _visible_saved(user).select_related("owner")
    ]
    mine = [row for row in rows if row[0].owner_id == user.pk]
    shared = [row for row in rows if row[0].owner_id != user.pk]
    return render(request, "query/saved_list.html", {"mine": mine, "shared": shared})


@require_safe
def saved_query(request: HttpRequest, saved_id: str) -> HttpResponse:
    """A saved query's permalink: run again now, as whoever opens it."""
    user = signed_in_user(request)
    saved = get_object_or_404(_visible_saved(user).select_related("owner"), pk=saved_id)
    try:
        query = QuerySpec.model_validate(saved.spec)
    except ValidationError:
        raise Http404("This saved query can no longer be read") from None
    if not saved.pinned:
        query = query.model_copy(update={"version": None})
    dataset = _dataset(query.dataset)
    aggregate, records = _decisions(request, dataset)
    if not aggregate.allowed:
        return _refused(request, dataset, aggregate.reason)
    params = urlencode(params_of(query), doseq=True)
    context: dict[str, Any] = {
        "saved": saved,
        "dataset": dataset,
        "owner": saved.owner_id == user.pk,
        "builder_url": reverse("query:builder", args=[dataset.pk]) + "?" + params,
        "problems": [],
    }
    try:
        result = services.run_query(query, user=user, request=request)
    except services.QueryRefused as error:
        return _refused(request, dataset, " ".join(error.problems))
    except services.QueryError as error:
        context["problems"] = error.problems
    else:
        context |= results_context(result, params=params, records=records.allowed)
    return render(request, "query/saved.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def saved_delete(request: HttpRequest, saved_id: str) -> HttpResponse:
    user = signed_in_user(request)
    saved = get_object_or_404(_visible_saved(user).filter(owner=user), pk=saved_id)
    if request.method == "POST":
        name = saved.name
        with transaction.atomic():
            record(
                "query.saved_deleted",
                actor=user,
                target=saved,
                payload={"name": saved.name, "query": saved.spec},
                request=request,
            )
            saved.delete()
        messages.success(request, f"{name} was deleted.")
        return redirect("query:saved_list")
    return render(request, "query/saved_delete.html", {"saved": saved})


# ------------------------------------------------------------------- jigsaw alerts


@platform_admin
@require_safe
def jigsaw_alerts(request: HttpRequest) -> HttpResponse:
    alerts = JigsawAlert.objects.select_related("user").order_by("reviewed_at", "-raised_at")
    page = Paginator(alerts, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "query/platform/jigsaw_alerts.html",
        {
            "page_obj": page,
            "query": "",
            "waiting": JigsawAlert.objects.filter(reviewed_at=None).count(),
        },
    )


@platform_admin
@require_http_methods(["GET", "HEAD", "POST"])
def jigsaw_review(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(JigsawAlert.objects.select_related("user"), pk=alert_id)
    back = reverse("query:jigsaw_alerts")
    if request.method == "POST" and alert.reviewed_at is not None:
        return refused(
            request,
            f"Alert {alert.pk} was already reviewed by {alert.reviewed_by}.",
            back_url=back,
            back_text="Back to jigsaw alerts",
        )
    form = ReviewForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = signed_in_user(request)
        alert.reviewed_at = timezone.now()
        alert.reviewed_by = user.email
        alert.review_note = form.cleaned_data["note"]
        with transaction.atomic():
            alert.save(update_fields=["reviewed_at", "reviewed_by", "review_note"])
            _record_review(request, user, alert)
        messages.success(request, f"Alert {alert.pk} is marked reviewed.")
        return redirect(back)
    return render(request, "query/platform/jigsaw_review.html", {"alert": alert, "form": form})


def _record_review(request: HttpRequest, user: User, alert: JigsawAlert) -> None:
    record(
        "query.jigsaw_alert_reviewed",
        actor=user,
        target=alert,
        payload={
            "alert": alert.pk,
            "user": alert.user.email,
            "datasets": alert.datasets,
            "note": alert.review_note,
        },
        request=request,
    )
