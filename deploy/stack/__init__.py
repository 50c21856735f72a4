"""The local, Docker-free stack: Apache Kafka (KRaft), Elasticsearch and Redis on 127.0.0.1."""
