/** The dashboard: a few static files from `static/` (next to this module, in the sources and in dist/), no credential needed. */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** URL path -> file in static/ and its type. Only these are served. */
const FILES: Readonly<Record<string, readonly [file: string, type: string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/static/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/static/markdown.js': ['markdown.js', 'text/javascript; charset=utf-8'],
  '/static/style.css': ['style.css', 'text/css; charset=utf-8'],
};

/** Scripts and styles from this origin only: model output the page shows can never run as code. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export function staticDir(): string {
  return fileURLToPath(new URL('./static/', import.meta.url));
}

export function registerDashboard(app: FastifyInstance, dir = staticDir()): void {
  for (const [url, [file, type]] of Object.entries(FILES)) {
    const body = fs.readFileSync(`${dir}${file}`);
    app.get(url, (_request, reply) => reply.headers({ ...SECURITY_HEADERS, 'content-type': type }).send(body));
  }
}
