import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Router, { type RouterContext } from '@koa/router';
import { AppError, ErrorCode } from '../errors';
import type { AppState } from '../middleware/state';
import { sendStaticAsset, staticAsset, type StaticAsset } from './static-asset';

/**
 * Swagger UI at `/docs` and ReDoc at `/redoc`, both reading `/openapi.json`, public like the document itself. Their
 * bundles come from the pinned npm packages (swagger-ui-dist, redoc) in node_modules, never from a CDN, through an
 * allow-list of file names: a name not listed is a 404, so no request path reaches the disk.
 */

interface PackageFile {
  pkg: 'swagger-ui-dist' | 'redoc';
  file: string;
  type: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

/** `/docs/assets/<name>` and `/redoc/assets/<name>`: the only package files served. */
const SWAGGER_ASSETS: Record<string, PackageFile> = {
  'swagger-ui-bundle.js': { pkg: 'swagger-ui-dist', file: 'swagger-ui-bundle.js', type: JS },
  'swagger-ui.css': { pkg: 'swagger-ui-dist', file: 'swagger-ui.css', type: CSS },
  'favicon-32x32.png': { pkg: 'swagger-ui-dist', file: 'favicon-32x32.png', type: 'image/png' },
};
const REDOC_ASSETS: Record<string, PackageFile> = {
  'redoc.standalone.js': { pkg: 'redoc', file: 'bundles/redoc.standalone.js', type: JS },
};

/**
 * Scripts from this origin only (the start-up code is a file below, not an inline script), API calls to this origin
 * only, no framing. Both UIs are React apps that write `style` elements at run time (ReDoc through styled-components),
 * so styles allow 'unsafe-inline': a style cannot run code. ReDoc's search index runs in a Worker made from a blob.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const page = (title: string, head: string, body: string) =>
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
${head}
</head>
<body>
${body}
</body>
</html>
`;

const SWAGGER_PAGE = page(
  'API reference — Swagger UI',
  '<link rel="stylesheet" href="/docs/assets/swagger-ui.css">\n<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">',
  '<div id="swagger-ui"></div>\n<script src="/docs/assets/swagger-ui-bundle.js"></script>\n<script src="/docs/swagger-init.js"></script>',
);
const SWAGGER_INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  persistAuthorization: false,
});
`;

const REDOC_PAGE = page(
  'API reference — ReDoc',
  '<style>body { margin: 0; padding: 0; }</style>\n<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">',
  '<div id="redoc"></div>\n<script src="/redoc/assets/redoc.standalone.js"></script>\n<script src="/redoc/redoc-init.js"></script>',
);
const REDOC_INIT = `Redoc.init('/openapi.json', { expandResponses: '200,201', sortPropsAlphabetically: false }, document.getElementById('redoc'));
`;

type Asset = StaticAsset;
const asset = staticAsset;

function packageDirectory(pkg: PackageFile['pkg']): string {
  return dirname(require.resolve(`${pkg}/package.json`));
}

export function apiDocsUiRoutes(): Router<AppState> {
  const router = new Router<AppState>();
  const fixed = {
    swaggerPage: asset(SWAGGER_PAGE, HTML),
    swaggerInit: asset(SWAGGER_INIT, JS),
    redocPage: asset(REDOC_PAGE, HTML),
    redocInit: asset(REDOC_INIT, JS),
  };
  // The bundles are 1–2 MB each: read on first use, then kept.
  const files = new Map<string, Asset>();
  const packageAsset = (f: PackageFile): Asset => {
    const key = `${f.pkg}/${f.file}`;
    let a = files.get(key);
    if (!a) {
      a = asset(readFileSync(join(packageDirectory(f.pkg), f.file)), f.type);
      files.set(key, a);
    }
    return a;
  };

  const send = (ctx: RouterContext<AppState>, a: Asset) => sendStaticAsset(ctx, a, CONTENT_SECURITY_POLICY);
  const assetRoute = (prefix: string, allowed: Record<string, PackageFile>) => {
    router.get(`${prefix}/assets/:file`, (ctx) => {
      const file = ctx.params.file ?? '';
      const entry = Object.hasOwn(allowed, file) ? allowed[file] : undefined;
      if (!entry) throw new AppError(ErrorCode.NOT_FOUND, 404, 'No such documentation asset');
      send(ctx, packageAsset(entry));
    });
  };

  router.get(['/docs', '/docs/'], (ctx) => send(ctx, fixed.swaggerPage));
  router.get('/docs/swagger-init.js', (ctx) => send(ctx, fixed.swaggerInit));
  assetRoute('/docs', SWAGGER_ASSETS);
  router.get(['/redoc', '/redoc/'], (ctx) => send(ctx, fixed.redocPage));
  router.get('/redoc/redoc-init.js', (ctx) => send(ctx, fixed.redocInit));
  assetRoute('/redoc', REDOC_ASSETS);
  // Anything else under these pages is not a file either; without this it would fall through to the token check (401).
  router.get(['/docs/*rest', '/redoc/*rest'], () => {
    throw new AppError(ErrorCode.NOT_FOUND, 404, 'No such documentation asset');
  });
  return router;
}
