"""The document routes: one scored document with its correction, and an analyst's correction
of the model's answer (kept as training data: ``undertow feedback export``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel

from alerting.api.deps import Analyst, Services, Svc
from alerting.corrections import Correction, CorrectionError, CorrectionStore, Label
from models.serving.labels import SENTIMENT_LABELS, TOPIC_LABELS

router = APIRouter(prefix="/api", tags=["documents"])
DocId = Annotated[str, Path(min_length=1, max_length=256)]


class DocumentView(BaseModel):
    """A scored document as indexed, and its correction if an analyst made one."""

    document: dict[str, Any]
    correction: Correction | None


class Labels(BaseModel):
    """The labels a correction may name, per task."""

    sentiment: list[str]
    topic: list[str]


@router.get("/labels")
def labels(_: Analyst) -> Labels:
    """The sentiment and topic labels of the models (what a correction may say)."""
    return Labels(sentiment=list(SENTIMENT_LABELS), topic=list(TOPIC_LABELS))


def _store(services: Services) -> CorrectionStore:
    if services.corrections is None:
        raise HTTPException(503, "corrections are not configured")
    return services.corrections


@router.get("/documents/{doc_id}")
def get_document(doc_id: DocId, services: Svc, _: Analyst) -> DocumentView:
    """One scored document and its correction (404 if no document has that id)."""
    store = _store(services)
    try:
        doc = store.document(doc_id)[1]
    except CorrectionError as exc:
        raise HTTPException(404, str(exc)) from exc
    return DocumentView(document=doc, correction=store.get(doc_id))


@router.post("/documents/{doc_id}/label")
def label_document(doc_id: DocId, body: Label, services: Svc, who: Analyst) -> Correction:
    """Correct the model's sentiment and/or topic for a document (analyst key); kept with who
    and when, shown on the document, and exported for training."""
    try:
        return _store(services).correct(doc_id, body, by=who.who)
    except CorrectionError as exc:
        raise HTTPException(404, str(exc)) from exc
