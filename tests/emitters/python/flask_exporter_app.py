"""kind `flask_exporter`: a Flask app with prometheus-flask-exporter's
defaults (`PrometheusMetrics(app)`, which adds /metrics to the app itself and
does not count it), served by Werkzeug's threaded server."""

from flask import Flask, request
from prometheus_flask_exporter import PrometheusMetrics
from werkzeug.serving import make_server

from common import listen, run, Failures, log, parse_args


def main():
    args = parse_args(__doc__)
    failures = Failures(args.fail_every, args.latency_ms)
    app = Flask("opsdeck_emitter")
    PrometheusMetrics(app)

    @app.route("/work", defaults={"rest": None})
    @app.route("/work/<path:rest>")
    def work(rest):
        code = failures.next(request.path)
        return ("ok\n" if code == 200 else "failed on purpose\n"), code

    sock = listen(args.port)
    server = make_server("127.0.0.1", args.port, app, threaded=True, fd=sock.fileno())
    log(f"flask_exporter app on http://127.0.0.1:{args.port}")
    server.serve_forever()


if __name__ == "__main__":
    run(main)
