# Built as Sekoia builds module images: the platform runs `<entrypoint> fetch_new_logs`.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/automation-sdk-shim/package.json packages/automation-sdk-shim/
RUN npm ci --no-audit --no-fund
COPY . .
# The runtime only (tsconfig.build.json): main.ts, cli/, trigger_fetch_new_logs/, the shim, and simulator/
# because `main.js demo` runs it. Tests and benchmarks are not even in the build context (.dockerignore).
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
# A fixed non-root identity, UID:GID 1000:1000, named sekoiaio-runtime like the user of Sekoia's Python
# module images (there, useradd's first UID: 1000). The node image's own user `node` already holds
# 1000:1000, so it is renamed rather than a second user added.
RUN groupmod --new-name sekoiaio-runtime node \
  && usermod --login sekoiaio-runtime --home /home/sekoiaio-runtime --move-home node \
  && mkdir -p /symphony_data && chown 1000:1000 /symphony_data
WORKDIR /app
ENV NODE_ENV=production
# Large buffers (intake bodies, API pages) in mappings of their own, returned when freed: see
# PRODUCTION_ENV in bench/trigger-process.ts (peak RSS); keep both equal.
ENV MALLOC_MMAP_THRESHOLD_=131072
COPY --from=build /app/package.json /app/manifest.json /app/trigger_fetch_new_logs.json /app/connector_fetch_new_logs.json /app/logo.png ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/packages/automation-sdk-shim/package.json ./packages/automation-sdk-shim/package.json
COPY --from=build /app/packages/automation-sdk-shim/dist ./packages/automation-sdk-shim/dist
USER 1000:1000
# --max-semi-space-size=4 --heap-growing-percent=20: see PRODUCTION_NODE_ARGS in
# bench/trigger-process.ts (peak RSS under load); keep both equal.
ENTRYPOINT ["node", "--max-semi-space-size=4", "--heap-growing-percent=20", "./dist/main.js"]
