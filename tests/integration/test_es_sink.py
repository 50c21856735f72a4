"""Scored documents indexed through the template; a replay changes no count."""

from __future__ import annotations

from streaming.clients import elasticsearch_client
from streaming.es_sink import ElasticsearchSink
from streaming.indices import docs_index
from tests.streaming.factories import scored
from undertow.settings import Settings


def test_bulk_index_is_idempotent_and_searchable(stack: Settings) -> None:
    es = elasticsearch_client(stack.elasticsearch)
    docs = [scored(tickers=("ZZTEST",)), scored(label="positive", tickers=("ZZTEST",))]
    index = docs_index(docs[0].published_at)
    try:
        sink = ElasticsearchSink(es)
        sink.write(docs)
        sink.write(docs)  # redelivery
        es.indices.refresh(index=index)
        ids = [d.id for d in docs]
        assert es.count(index=index, query={"ids": {"values": ids}})["count"] == 2
        negative = es.search(index=index, query={"bool": {"filter": [
            {"terms": {"id": ids}}, {"term": {"sentiment.label": "negative"}},
        ]}})  # fmt: skip
        assert [h["_id"] for h in negative["hits"]["hits"]] == [docs[0].id]
        props = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
        assert props["tickers"]["type"] == "keyword"
        assert (
            props["sentiment"]["properties"]["probs"]["properties"]["negative"]["type"] == "float"
        )
        assert props["published_at"]["type"] == "date"
    finally:
        for d in docs:
            es.delete(index=index, id=d.id, refresh=True)
        es.close()
