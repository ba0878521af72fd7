# One image for api, worker and migrate (compose overrides the command).
FROM node:24-slim
WORKDIR /app
# Install deps in their own layer so code edits don't re-run npm ci.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build
ENV NODE_ENV=production
EXPOSE 8000
CMD ["node", "dist/api/server.js"]
