# Built as Sekoia builds module images: the platform runs `<entrypoint> fetch_new_logs`.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/automation-sdk-shim/package.json packages/automation-sdk-shim/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
RUN useradd --create-home --shell /usr/sbin/nologin sekoiaio-runtime \
  && mkdir -p /symphony_data && chown sekoiaio-runtime /symphony_data
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json /app/manifest.json /app/trigger_fetch_new_logs.json /app/logo.png ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/packages/automation-sdk-shim/package.json ./packages/automation-sdk-shim/package.json
COPY --from=build /app/packages/automation-sdk-shim/dist ./packages/automation-sdk-shim/dist
USER sekoiaio-runtime
# --max-semi-space-size=4: see bench/trigger-process.ts (peak RSS under load); keep both equal.
ENTRYPOINT ["node", "--max-semi-space-size=4", "./dist/main.js"]
