"""A loopback fake of the shared model servers (vLLM's OpenAI-compatible `GET /v1/models`), for `maas-lab smoke`.

One server stands for every InferenceService: a request names its model by a path prefix (`/<isvc>/v1/models`, the
shape a `--model-url NAME=http://127.0.0.1:PORT/<isvc>/v1` gives) or by the Host header of its in-cluster URL
(`<isvc>-predictor.<namespace>.svc.cluster.local`, when a test transport routes that host here).
"""

from __future__ import annotations

from tests.fakes.appserver import AppServer, Request, Response, json_response

# isvc -> the names vLLM serves it under (`--served-model-name`, and any LoRA adapters), as in the ai501 profile
SERVED = {"llama-32": ["llama32"], "llama-32-fp8": ["llama32-fp8"], "tinyllama-1b-cpu": ["tinyllama"]}


class FakeModels(AppServer):
    def __init__(self, *, tls_cert: tuple[str, str] | None = None) -> None:
        super().__init__(tls_cert=tls_cert)
        self.served = {isvc: list(names) for isvc, names in SERVED.items()}

    def base_url(self, isvc: str) -> str:
        return f"{self.url}/{isvc}/v1"

    def handle(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if parts[-2:] != ["v1", "models"] or request.method != "GET":
            return json_response(404, {"detail": "Not Found"})
        isvc = parts[0] if len(parts) == 3 else (request.header("host") or "").split("-predictor.", 1)[0]
        served = self.served.get(isvc)
        if served is None:
            return json_response(404, {"detail": f"no model server for {isvc!r}"})
        data = [{"id": name, "object": "model", "owned_by": "vllm", "max_model_len": 4096} for name in served]
        return json_response(200, {"object": "list", "data": data})
