# One image for api, worker and migrate (docker-compose.yml overrides the command).
# Multi-stage: the build stage has the dev dependencies (TypeScript, the workflow bundler); the runtime stage has only
# the production dependencies, the compiled dist/ and the files read at run time, and runs as the unprivileged `node` user.

FROM node:24-slim AS build
WORKDIR /app
# Deps in their own layer so code edits don't re-run npm ci.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# dist/ (tsc) and dist/workflow-bundle.js (the prebuilt workflow bundle, so the worker does not bundle at start).
RUN npm run build

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; they include swagger-ui-dist and redoc, whose files the /docs pages serve.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The admin dashboard's static files, found beside the sources (api/routes/admin-ui.routes.ts).
COPY --from=build /app/api/admin-ui ./api/admin-ui
# Default services/clients configuration (SERVICES_CONFIG_FILE, CLIENTS_CONFIG_FILE); mount over it to change.
COPY --from=build /app/config ./config
# data_export writes here (compose mounts a volume); owned by `node` so the non-root process can write.
RUN mkdir -p /data/exports && chown node:node /data/exports
USER node
EXPOSE 8000
# Node is PID 1 and gets SIGTERM itself: the API stops accepting, finishes its requests and closes its sockets; the
# worker drains (api/server.ts, worker/main.ts). Compose gives it stop_grace_period to do so.
STOPSIGNAL SIGTERM
# The API's liveness (compose overrides it per service: /ready for the api, /metrics for the worker, none for migrate).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/api/server.js"]
