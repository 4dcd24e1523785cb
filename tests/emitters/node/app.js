// kind `express` of tests/support/emitters.rs: an Express app with
// express-prom-bundle's middleware (prom-client underneath), which also
// serves /metrics on the app's own port (autoregister, its default) and
// does not count it. Default Node.js metrics are collected too.
//
// Each path under /work has a request counter of its own; the k-th request
// to a path fails with HTTP 500 when fail-every > 0 and k % fail-every == 0,
// after sleeping latency-ms. Usage:
//   node app.js --port P [--fail-every N] [--latency-ms L]
'use strict';

const express = require('express');
const promBundle = require('express-prom-bundle');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) {
    if (fallback === undefined) throw new Error(`--${name} is required`);
    return fallback;
  }
  const value = Number.parseInt(process.argv[i + 1], 10);
  if (!Number.isInteger(value) || value < 0) throw new Error(`bad --${name}`);
  return value;
}

const port = option('port');
const failEvery = option('fail-every', 10);
const latencyMs = option('latency-ms', 20);
const counts = new Map();

const app = express();
app.use(
  promBundle({
    includeMethod: true,
    includePath: true,
    includeStatusCode: true,
    promClient: { collectDefaultMetrics: {} },
  }),
);

app.get(['/work', '/work/*rest'], (req, res) => {
  const k = (counts.get(req.path) || 0) + 1;
  counts.set(req.path, k);
  setTimeout(() => {
    if (failEvery > 0 && k % failEvery === 0) {
      res.status(500).type('text/plain').send('failed on purpose\n');
    } else {
      res.type('text/plain').send('ok\n');
    }
  }, latencyMs);
});

const server = app.listen(port, '127.0.0.1', (err) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
  console.error(`express app on http://127.0.0.1:${server.address().port}`);
});
server.on('error', (err) => {
  // "address already in use" is what the harness looks for on a clash.
  console.error(`listen failed: ${err.message} (address already in use: ${err.code === 'EADDRINUSE'})`);
  process.exit(1);
});
