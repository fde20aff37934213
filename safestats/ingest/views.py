"""The ingestion pages: a provider's loads, sending files, one load's progress and report
(with its problems and quarantined rows as CSV), and the platform administrator's page
choosing which organisations provide a dataset."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from safestats.accounts.decorators import role_required
from safestats.accounts.models import Role
from safestats.accounts.services import signed_in_user
from safestats.catalogue import selectors as catalogue
from safestats.ingest import rawstore, selectors, services
from safestats.ingest.forms import ProvidersForm, UploadForm, tolerance_words
from safestats.ingest.models import IngestJob, JobStatus
from safestats.ingest.uploads import SizeLimitedUploadHandler, with_size_limit
from safestats.web.refusals import add_refusal

loaders = role_required(Role.DATA_PROVIDER, Role.PLATFORM_ADMIN)
platform_admin = role_required(Role.PLATFORM_ADMIN)
PER_PAGE = 50
FIRST_PROBLEMS = 100
REFRESH_SECONDS = 2


@loaders
@require_safe
def job_list(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    jobs = selectors.jobs_visible_to(user).prefetch_related("job_files")
    page = Paginator(jobs, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "ingest/jobs.html",
        {"page_obj": page, "query": "", "can_upload": services.datasets_for_upload(user).exists()},
    )


@loaders
@require_http_methods(["GET", "HEAD", "POST"])
@with_size_limit
def upload(request: HttpRequest, handler: SizeLimitedUploadHandler | None) -> HttpResponse:
    user = signed_in_user(request)
    datasets = [(d.pk, d.title) for d in services.datasets_for_upload(user)]
    if request.method != "POST":
        form = UploadForm(datasets=datasets)
        return render(request, "ingest/upload.html", {"form": form, "datasets": datasets})
    posted, files = request.POST, request.FILES  # reads the upload through the handler
    too_large = handler.too_large if handler is not None else None
    form = UploadForm(posted, files, datasets=datasets, too_large=too_large)
    if form.is_valid():
        data = form.cleaned_data
        dataset = catalogue.dataset_by_id(data["dataset"])
        if dataset is None:
            raise Http404("No such dataset")
        incoming = [
            services.Incoming(name=f.name or "upload", chunks=f.chunks(rawstore.CHUNK))
            for f in data["data_files"]
        ]
        try:
            job = services.receive(
                dataset=dataset,
                files=incoming,
                by=user,
                tolerance_percent=data["tolerance"],
                request=request,
            )
        except services.IngestRefused as error:
            add_refusal(form, str(error), field="dataset")
        except rawstore.UploadTooLarge as error:
            add_refusal(form, str(error), field="data_files")
        except ValueError as error:
            add_refusal(form, str(error), field="data_files")
        else:
            services.enqueue(job)
            return redirect("ingest:job", job_id=job.pk)
    return render(request, "ingest/upload.html", {"form": form, "datasets": datasets})


def _visible_job(request: HttpRequest, job_id: int) -> IngestJob:
    """The job, if the user may see it; 404 otherwise, so ids of others' jobs stay hidden."""
    return get_object_or_404(selectors.jobs_visible_to(signed_in_user(request)), pk=job_id)


def _progress_words(job: IngestJob) -> str:
    words = [f"{job.percent}%", job.stage or JobStatus(job.status).label]
    if job.rows_total:
        words.append(f"{job.rows_done:,} of {job.rows_total:,} rows")
    return " — ".join(words)


def _file_rows(job: IngestJob) -> list[dict[str, Any]]:
    """Each file of the job as read (name, format, encoding, layout, rows), or just its
    name when the job stopped before reading it."""
    read = {f.get("name"): f for f in (job.summary or {}).get("files", [])}
    rows = []
    for job_file in job.job_files.select_related("raw_file").order_by("position"):
        found = read.get(job_file.name, {})
        rows.append(
            {
                "name": job_file.name,
                "size": job_file.raw_file.size,
                "format": str(found.get("format", "")).upper(),
                "encoding": found.get("encoding", ""),
                "layout": found.get("layout", ""),
                "rows": found.get("rows"),
            }
        )
    return rows


@require_safe
def job(request: HttpRequest, job_id: int) -> HttpResponse:
    found = _visible_job(request, job_id)
    refresh = not found.finished and request.GET.get("refresh") != "off"
    context: dict[str, Any] = {
        "job": found,
        "files": _file_rows(found),
        "refresh": refresh,
        "refresh_seconds": REFRESH_SECONDS,
        "progress_words": _progress_words(found),
        "notes": (found.summary or {}).get("notes", []),
        "tolerance": tolerance_words(found.tolerance_percent),
    }
    if found.finished:
        context["counts"] = services.problem_counts(found)
        context["problems"] = services.first_problems(found, FIRST_PROBLEMS)
        context["first_problems"] = FIRST_PROBLEMS
    return render(request, "ingest/job.html", context)


def _csv_download(request: HttpRequest, job_id: int, what: str) -> HttpResponseBase:
    found = _visible_job(request, job_id)
    if not found.finished:  # its report files are still being written
        raise Http404("The load has not finished")
    services.record_download(found, what, by=signed_in_user(request), request=request)
    lines = services.problems_csv(found) if what == "problems" else services.quarantine_csv(found)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="job-{found.pk}-{what}.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@require_GET  # HEAD would be audited as a download without one
def problems_csv(request: HttpRequest, job_id: int) -> HttpResponseBase:
    return _csv_download(request, job_id, "problems")


@require_GET
def quarantine_csv(request: HttpRequest, job_id: int) -> HttpResponseBase:
    return _csv_download(request, job_id, "quarantine")


@platform_admin
@require_http_methods(["GET", "HEAD", "POST"])
def providers(request: HttpRequest, dataset_id: str) -> HttpResponse:
    dataset = catalogue.dataset_by_id(dataset_id)
    if dataset is None:
        raise Http404("No such dataset")
    current = list(dataset.provider_organisations.values_list("pk", flat=True))
    choices = selectors.provider_choices(dataset)
    if request.method == "POST":
        form = ProvidersForm(request.POST, choices=choices)
        if form.is_valid():
            try:
                after = services.set_provider_organisations(
                    dataset=dataset,
                    organisation_ids=form.cleaned_data["organisations"],
                    by=signed_in_user(request),
                    request=request,
                )
            except ValueError as error:
                add_refusal(form, str(error), field="organisations")
            else:
                names = [name for pk, name in choices if pk in after]
                messages.success(
                    request,
                    f"Data providers of {', '.join(names)} may load {dataset.title}."
                    if names
                    else f"No organisation's data providers may load {dataset.title}.",
                )
                return redirect("catalogue:dataset", dataset_id=dataset.pk)
    else:
        form = ProvidersForm(initial={"organisations": current}, choices=choices)
    return render(
        request,
        "ingest/platform/providers.html",
        {"dataset": dataset, "form": form, "choices": choices},
    )
