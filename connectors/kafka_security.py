"""The Kafka client options for SASL (PLAIN, SCRAM-SHA-256/512) and TLS, from the settings.

One function builds them, and every producer, consumer and admin client newsbeam makes
gets them (``connectors/kafka.py``, ``pipelines/deadletters.py``, ``infra/``), so a
secured broker is configured once, in the settings. Standard library only, so the
settings module can offer them without importing kafka-python.
"""

from __future__ import annotations

from typing import Any, Protocol


class KafkaSecuritySettings(Protocol):
    @property
    def kafka_security_protocol(self) -> str: ...
    @property
    def kafka_sasl_mechanism(self) -> str: ...
    @property
    def kafka_username(self) -> str | None: ...
    @property
    def kafka_password(self) -> str | None: ...
    @property
    def kafka_ca_file(self) -> str | None: ...
    @property
    def kafka_cert_file(self) -> str | None: ...
    @property
    def kafka_key_file(self) -> str | None: ...
    @property
    def kafka_check_hostname(self) -> bool: ...


def client_options(settings: KafkaSecuritySettings) -> dict[str, Any]:
    """kafka-python keyword arguments for the configured protocol; empty for PLAINTEXT."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.startswith("SASL"):
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_username,
            sasl_plain_password=settings.kafka_password,
        )
    if protocol.endswith("SSL"):
        options["ssl_check_hostname"] = settings.kafka_check_hostname
        if settings.kafka_ca_file:
            options["ssl_cafile"] = settings.kafka_ca_file
        if settings.kafka_cert_file:
            options["ssl_certfile"] = settings.kafka_cert_file
            options["ssl_keyfile"] = settings.kafka_key_file
    return options
