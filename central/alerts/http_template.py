"""Alerts to any HTTP API from a template (SMS gateways and the like): each configured field is a
`string.Template` of the alert's values, sent as JSON, a form or the query string. Retries, dead
letters and filters are those of every sender; a secret header value comes from a file."""

from __future__ import annotations

from string import Template

import httpx

from central.alerts.alert import Alert
from central.alerts.delivery import DeadLetterSink, DeliveryError, RetryingSender
from central.alerts.settings import HttpTemplateSettings


def template_values(alert: Alert) -> dict[str, str]:
    return {
        "kind": alert.kind,
        "plate": alert.plate or "",
        "lists": ", ".join(alert.lists),
        "site": alert.site_id,
        "device": alert.device_id,
        "camera": alert.camera or "",
        "gate": alert.gate or "",
        "local_time": alert.local_time,
        "caption": alert.caption(),
        "alert_id": str(alert.alert_id),
    }


class HttpTemplateSender(RetryingSender):
    def __init__(self, settings: HttpTemplateSettings, dead_letter: DeadLetterSink) -> None:
        self.name = f"http:{settings.name}"
        super().__init__(settings.retry, dead_letter)
        self.settings = settings
        self._templates = {name: Template(text) for name, text in settings.fields.items()}
        self._headers: dict[str, str] = {}
        if settings.secret_header and settings.secret_file:
            self._headers[settings.secret_header] = settings.secret_file.read_text(encoding="utf-8").strip()
        self._client = httpx.Client(timeout=settings.retry.timeout_s)

    def accepts(self, alert: Alert) -> bool:
        return self.settings.filter.accepts(alert.kind, alert.site_id)

    def deliver(self, alert: Alert) -> None:
        values = template_values(alert)
        fields = {name: template.safe_substitute(values) for name, template in self._templates.items()}
        request: dict[str, object] = {"headers": self._headers}
        if self.settings.body == "json":
            request["json"] = fields
        elif self.settings.body == "form":
            request["data"] = fields
        else:
            request["params"] = fields
        try:
            response = self._client.request(self.settings.method, self.settings.url, **request)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}") from None  # the URL may hold an API key
        if 200 <= response.status_code < 300:
            return
        final = 400 <= response.status_code < 500 and response.status_code != 429
        raise DeliveryError(f"{self.settings.name} answered {response.status_code}", final=final)

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self._client.close()
