"""``POST /api/score``: texts or documents in; sentiment, topic, tickers and entities out.

Served by ``undertow alerting serve`` beside the alert API, with its keys (an analyst key is
enough). The answers are the pipeline's: the same Scorer (the registry's current version,
followed through promotions), limits, masking and entity linking as the score worker
(``streaming.scoring``). A request holds at most ``MAX_DOCUMENTS`` documents and the API's body
limit; one bad document gets a 422 naming it, and nothing of that request is scored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerting.api.deps import Analyst
from streaming.records import Entity, Sentiment, Topic
from streaming.scoring import RefusedDocuments, Scoring

MAX_DOCUMENTS = 256
router = APIRouter(prefix="/api", tags=["scoring"])


class ScoreDocument(BaseModel):
    """A document as the input topics carry it (only ``text`` is required)."""

    model_config = ConfigDict(extra="forbid")

    text: str
    id: str | None = None
    title: str | None = None
    source: str | None = None
    source_name: str | None = None
    url: str | None = None
    lang: str | None = None
    tickers: list[str] | None = None


class ScoreRequest(BaseModel):
    """Either plain ``texts`` or ``documents`` (with titles, tickers, ids), not both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"texts": ["Acme shares slump after profit warning"]}]},
    )

    texts: list[str] | None = Field(default=None, max_length=MAX_DOCUMENTS)
    documents: list[ScoreDocument] | None = Field(default=None, max_length=MAX_DOCUMENTS)

    @model_validator(mode="after")
    def _one_of(self) -> ScoreRequest:
        if (self.texts is None) == (self.documents is None):
            raise ValueError("give either texts or documents")
        if not (self.texts or self.documents):
            raise ValueError("nothing to score: the list is empty")
        return self

    def items(self) -> tuple[str, list[dict[str, Any]]]:
        """The field the documents came in, and each as the input topics' JSON."""
        if self.texts is not None:
            return "texts", [{"text": t} for t in self.texts]
        assert self.documents is not None
        return "documents", [d.model_dump(exclude_none=True) for d in self.documents]


class ScoreResult(BaseModel):
    """What the pipeline says of one document."""

    id: str
    sentiment: Sentiment
    topic: Topic
    tickers: list[str]
    entities: list[Entity]


class ScoreResponse(BaseModel):
    """One result per document, in the order given, and the model that scored them."""

    model: dict[str, str]
    results: list[ScoreResult]


def scoring_of(request: Request) -> Scoring:
    """The Scoring the application was built with."""
    scoring: Scoring = request.app.state.scoring
    return scoring


@router.post("/score")
async def score(body: ScoreRequest, request: Request, who: Analyst) -> ScoreResponse:
    """Score texts or documents with the live model, as the pipeline would (analyst key)."""
    field, items = body.items()
    try:
        scored = await scoring_of(request).score_async(items)
    except RefusedDocuments as exc:
        detail = [
            {"loc": ["body", field, r.index], "msg": f"{r.reason}: {r.detail}", "type": r.reason}
            for r in exc.refused
        ]
        raise HTTPException(422, detail=detail) from exc
    model = {"name": scored[0].model.name, "version": scored[0].model.version}
    return ScoreResponse(
        model=model,
        results=[
            ScoreResult(
                id=d.id,
                sentiment=d.sentiment,
                topic=d.topic,
                tickers=d.tickers,
                entities=d.entities,
            )
            for d in scored
        ],
    )


def mount(app: FastAPI, scoring: Scoring) -> None:
    """Serve ``POST /api/score`` from ``app`` with ``scoring``."""
    app.state.scoring = scoring
    app.include_router(router)
