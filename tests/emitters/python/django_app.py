"""kind `django`: a single-file Django project with django-prometheus (its
two middlewares and its /metrics URL), served by the threaded WSGI server
that `manage.py runserver` uses (without the autoreloader). No database."""

import django
from django.conf import settings
from django.http import HttpResponse
from django.urls import include, path, re_path

from common import run, Failures, log, parse_args

ARGS = parse_args(__doc__)
FAILURES = Failures(ARGS.fail_every, ARGS.latency_ms)


def work(request, rest=None):
    code = FAILURES.next(request.path)
    return HttpResponse("ok\n" if code == 200 else "failed on purpose\n", status=code)


urlpatterns = [
    path("work", work, name="work"),
    re_path(r"^work/(?P<rest>.+)$", work, name="work_rest"),
    path("", include("django_prometheus.urls")),
]

settings.configure(
    DEBUG=False,
    SECRET_KEY="opsdeck-test-only",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django_prometheus"],
    MIDDLEWARE=[
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ],
    DATABASES={},
    USE_TZ=True,
)


def main():
    django.setup()
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    server = ThreadedWSGIServer(("127.0.0.1", ARGS.port), WSGIRequestHandler)
    server.set_app(get_wsgi_application())
    log(f"django app on http://127.0.0.1:{ARGS.port}")
    server.serve_forever()


if __name__ == "__main__":
    run(main)
