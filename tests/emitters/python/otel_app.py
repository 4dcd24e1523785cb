"""kinds `otel_old` and `otel_stable`: a Flask app instrumented by
opentelemetry-instrumentation-flask, its metrics read by the OpenTelemetry
SDK and exposed by opentelemetry-exporter-prometheus through
prometheus_client's `start_http_server` on a port of its own.

The semantic conventions follow the environment as in production:
without OTEL_SEMCONV_STABILITY_OPT_IN the old ones (http.server.duration in
ms), with OTEL_SEMCONV_STABILITY_OPT_IN=http the stable ones
(http.server.request.duration in s). The resource is the SDK's default
(Resource.create()), so service.name is OTEL_SERVICE_NAME when set and
unknown_service otherwise."""

from flask import Flask, request
from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import start_http_server
from werkzeug.serving import make_server

from common import listen, run, Failures, log, parse_args


def main():
    args = parse_args(__doc__, metrics_port=True)
    failures = Failures(args.fail_every, args.latency_ms)

    metrics.set_meter_provider(MeterProvider(metric_readers=[PrometheusMetricReader()]))

    app = Flask("opsdeck_emitter")

    @app.route("/work", defaults={"rest": None})
    @app.route("/work/<path:rest>")
    def work(rest):
        code = failures.next(request.path)
        return ("ok\n" if code == 200 else "failed on purpose\n"), code

    FlaskInstrumentor().instrument_app(app)

    # The app's socket is bound (and listening) before the exporter's port
    # answers, so the harness may wait on the exporter alone.
    sock = listen(args.port)
    server = make_server("127.0.0.1", args.port, app, threaded=True, fd=sock.fileno())
    start_http_server(port=args.metrics_port, addr="127.0.0.1")
    log(
        f"otel app on http://127.0.0.1:{args.port}, "
        f"metrics on http://127.0.0.1:{args.metrics_port}/metrics"
    )
    server.serve_forever()


if __name__ == "__main__":
    run(main)
