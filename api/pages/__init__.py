"""The web pages: `/console` (operator), `/tablet` (crew), `/audit` (auditor).

The pages are static files under `api/static/` (HTML, one CSS file, plain ES
modules in `js/`, and `china-provinces.json`, the offline basemap made by
`make_basemap.py`), served as they are: no build step, no npm. Each page signs
in with a bearer token (checked with `GET /api/pages/whoami`, kept in
sessionStorage) and speaks Chinese by default or English (`js/i18n.js`, the
choice kept in localStorage).

- console: call intake (`POST /api/incidents`, 422 details shown by their
  fields), recommendations, one-key dispatch or an override with a reason, the
  live board from `/ws/board` (snapshot, changes and batches merged with the
  rule of `projections/changes.py`; after a drop it resumes with
  `?after=<last log_position>`), SLA colours and alerts, a live map.
- tablet: the job from `/ws/crew`, a button per allowed step, GPS from
  `navigator.geolocation` every `?rate=` seconds (or the page's setting, or
  `RESCUE_TABLET_POSITION_S`, default 10). Steps and positions go through an
  outbox in localStorage, each with an `Idempotency-Key`, sent in order when the
  network is back; a step the server refuses (a 4xx, e.g. 409 for a cancelled
  job) is shown to the crew and dropped. Browsers give GPS to secure origins
  only: serve the tablet over HTTPS (or on localhost).
- audit: search (`GET /api/incidents/search`), the timeline, a time slider
  (`history?as_of=` and `GET /api/board?as_of=`), the dispatch decisions with
  their candidates, the claim (when the route answers), JSON exports.

Maps are drawn in SVG in Web Mercator; `RESCUE_TILE_URL` (e.g.
`https://tiles.example/{z}/{x}/{y}.png`) adds raster tiles underneath.
"""

from rescue.api.pages.routes import router

__all__ = ["router"]
