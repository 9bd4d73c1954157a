// PlayWave games: the shared map of the GM console and the player page, on Leaflet
// (static/vendor/leaflet, refreshed by `./dev vendor`). Load leaflet.js (and leaflet.css)
// before this file.
//
// API (window.PW):
//   const map = new PW.PWMap(element, {tileUrl, tileAttribution, viewer: true|false});
//     element          a <div> (any size; re-measured by itself whenever it changes size or
//                      becomes visible, e.g. a section that was [hidden])
//     tileUrl          "https://…/{z}/{x}/{y}.png" (cfg.tileUrl); "" draws a grid in metres
//     tileAttribution  HTML shown bottom right (cfg.tileAttribution)
//     viewer           true on the player page: the own marker comes from setOwnPosition()
//   map.leaflet                the L.Map (attach Geoman with map.leaflet.pm …); the element
//                              also knows its map: element.pwMap
//   map.setWorld(world)        draw a snapshot: zones, points, decorations, items, players
//                              (kept by id and updated in place, so once a tick is cheap)
//   map.setOwnPosition(lat, lng, accuracy)   the viewer's marker and GPS accuracy circle
//                              (a dashed line runs from it to world.objective.target)
//   map.setCenter(lat, lng)    the first call centres the view (zoom 18); later calls no-op
//   map.ensureCenter(world)    centre once on placed zones, else on a positioned player
//   map.center                 [lat, lng] of the metre frame origin (null until centred)
//   map.centerLatLng()         [lat, lng] at the middle of the view
//   map.fitZones(world)        fit the view to the placed zones (done by itself the first
//                              time a world has placed zones)
//   map.zoom(f)                f > 1 zooms in one step, f < 1 out
//   map.invalidate()           re-measure now (call it right after un-hiding the map)
//   map.zoneLayers             Map zoneId -> the L.Circle / L.Polygon drawn for it
//   map.holdZone(id | null)    while set, setWorld leaves that zone's layer alone (so an
//                              editor can drag it); the next setWorld after release redraws it
//   map.toXY(lat, lng) / map.toLatLng(x, y)   metres east/north of map.center and back
//   map.onZoneClick = (zone, event) => …      optional
//   map.draw()                 redraw from the last world (labels decluttered again)
//   PW.zoneAnchor(map, zone)   the zone's anchor in map metres (circle centre / centroid)
//   PW.toast, PW.esc, PW.fmtTime, PW.teamMark — small page helpers (the socket and its URL:
//   static/playwave/socket.js)
"use strict";

(function () {
  const M_PER_DEG = Math.PI / 180 * 6371008.8;
  const START_ZOOM = 18;
  const MAX_ZOOM = 21;

  // Readable on any tile or grid: dark text on white, 4.5:1 or better (WCAG AA).
  const ZONE_DEFAULT = "#2e7d32";
  const ZONE_EXCLUSION = "#616161";
  const ZONE_BLOCKED = "#424242";

  // A metre grid drawn as a Leaflet layer when no tile server is set: lines every 1, 2, 5 …
  // metres (about 80 px apart at the current zoom), aligned on the map's frame origin.
  const MetreGrid = L.GridLayer.extend({
    options: { tileSize: 256, maxZoom: MAX_ZOOM, className: "pw-grid" },
    initialize(owner, options) {
      L.setOptions(this, options);
      this._owner = owner;
    },
    step(zoom) {
      const map = this._map;
      const lat = (this._owner.center || [0, 0])[0];
      const mpp = 156543.03392 * Math.cos(lat * Math.PI / 180) / 2 ** (zoom === undefined ? map.getZoom() : zoom);
      const target = 80 * mpp;
      for (const s of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000]) {
        if (s >= target) return s;
      }
      return 100000;
    },
    createTile(coords) {
      const tile = document.createElement("canvas");
      const size = this.getTileSize();
      tile.width = size.x;
      tile.height = size.y;
      const ctx = tile.getContext("2d");
      ctx.fillStyle = "#f4f6f3";
      ctx.fillRect(0, 0, size.x, size.y);
      const map = this._map;
      const origin = this._owner.center || [0, 0];
      const nw = coords.scaleBy(size);
      const se = nw.add(size);
      const a = map.unproject(nw, coords.z), b = map.unproject(se, coords.z);
      const step = this.step(coords.z);
      const kx = M_PER_DEG * Math.cos(origin[0] * Math.PI / 180);
      const x0 = (a.lng - origin[1]) * kx, x1 = (b.lng - origin[1]) * kx;
      const y0 = (b.lat - origin[0]) * M_PER_DEG, y1 = (a.lat - origin[0]) * M_PER_DEG;
      ctx.strokeStyle = "rgba(0,0,0,0.14)";
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let x = Math.ceil(x0 / step) * step; x <= x1; x += step) {
        const px = Math.round((x - x0) / (x1 - x0) * size.x) + 0.5;
        ctx.moveTo(px, 0); ctx.lineTo(px, size.y);
      }
      for (let y = Math.ceil(y0 / step) * step; y <= y1; y += step) {
        const py = Math.round((y1 - y) / (y1 - y0) * size.y) + 0.5;
        ctx.moveTo(0, py); ctx.lineTo(size.x, py);
      }
      ctx.stroke();
      return tile;
    },
  });

  const GridLabel = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd() {
      this._div = L.DomUtil.create("div", "pw-grid-label");
      return this._div;
    },
    set(text) { if (this._div) this._div.textContent = text; },
  });

  class PWMap {
    constructor(element, opts) {
      opts = opts || {};
      this.element = element;
      element.pwMap = this; // reachable from the element (console, tests)
      this.viewerMode = !!opts.viewer;
      this.center = null; // [lat, lng] of the metre frame origin
      this.world = null;
      this.zoneLayers = new Map();
      this._zoneKeys = new Map();
      this._held = null;
      this._markers = new Map(); // "p:<id>" / "i:<id>" / "pt:<id>" -> L.Marker
      this._own = null;
      this.onZoneClick = null;
      const m = this.leaflet = L.map(element, {
        zoomControl: true,
        attributionControl: true,
        minZoom: 2,
        maxZoom: MAX_ZOOM,
        zoomSnap: 1,
        worldCopyJump: false,
        keyboard: true,
      });
      m.setView([0, 0], 2);
      m.attributionControl.setPrefix(
        '<a href="https://leafletjs.com" title="A JavaScript library for interactive maps">Leaflet</a>',
      );
      this.tileUrl = opts.tileUrl || "";
      if (this.tileUrl) {
        this.base = L.tileLayer(this.tileUrl, {
          maxNativeZoom: 19,
          maxZoom: MAX_ZOOM,
          attribution: opts.tileAttribution || "",
          // Tile servers such as OpenStreetMap's want to know which site asks.
          referrerPolicy: "strict-origin-when-cross-origin",
          crossOrigin: false,
        }).addTo(m);
      } else {
        this.base = new MetreGrid(this).addTo(m);
        this._gridLabel = new GridLabel().addTo(m);
        const relabel = () => this._gridLabel.set(`grid ${this.base.step()} m`);
        m.on("zoomend", relabel);
        relabel();
      }
      L.control.scale({ imperial: false, position: "bottomleft" }).addTo(m);
      this.layers = {
        zones: L.layerGroup().addTo(m),
        decorations: L.layerGroup().addTo(m),
        own: L.layerGroup().addTo(m),
        points: L.layerGroup().addTo(m),
        items: L.layerGroup().addTo(m),
        players: L.layerGroup().addTo(m),
      };
      element.setAttribute("role", "region");
      if (!element.getAttribute("aria-label")) element.setAttribute("aria-label", "Game map");
      // A map laid out while its section was hidden measured 0×0; re-measure whenever the
      // element's size changes (shown, rotated phone, resized window).
      if (window.ResizeObserver) {
        this._ro = new ResizeObserver(() => this.invalidate());
        this._ro.observe(element);
      }
      m.on("zoomend moveend", () => this._declutter());
    }

    invalidate() {
      const r = this.element.getBoundingClientRect();
      if (!r.width || !r.height) return;
      this.leaflet.invalidateSize({ pan: false });
      this._declutter();
    }

    setCenter(lat, lng) {
      if (this.center) return;
      this.center = [lat, lng];
      if (this.base && this.base.redraw) this.base.redraw();
      this.leaflet.setView([lat, lng], START_ZOOM);
    }

    toXY(lat, lng) {
      const [lat0, lng0] = this.center;
      const kx = M_PER_DEG * Math.cos(lat0 * Math.PI / 180);
      return [(lng - lng0) * kx, (lat - lat0) * M_PER_DEG];
    }

    toLatLng(x, y) {
      const [lat0, lng0] = this.center;
      const kx = M_PER_DEG * Math.cos(lat0 * Math.PI / 180);
      return [lat0 + y / M_PER_DEG, lng0 + x / kx];
    }

    centerLatLng() {
      if (!this.center) return null;
      const c = this.leaflet.getCenter();
      return [c.lat, c.lng];
    }

    zoom(f) {
      if (f > 1) this.leaflet.zoomIn(); else this.leaflet.zoomOut();
    }

    // Centre the map on the world once: placed zones, else positioned players.
    ensureCenter(world) {
      if (this.center) return;
      for (const z of world.zones || []) {
        const g = z.geometry;
        if (g) {
          this.setCenter(...(g.center || g.points[0]));
          this.fitZones(world);
          return;
        }
      }
      for (const p of world.players || []) {
        if (p.lat !== undefined) { this.setCenter(p.lat, p.lng); return; }
      }
    }

    fitZones(world) {
      let b = null;
      for (const z of (world || this.world || {}).zones || []) {
        const layer = this.zoneLayers.get(z.id);
        const g = z.geometry;
        if (!g) continue;
        const zb = layer && layer.getBounds ? layer.getBounds()
          : g.center ? L.latLng(g.center).toBounds(2 * g.radius) : L.latLngBounds(g.points);
        b = b ? b.extend(zb) : L.latLngBounds(zb.getSouthWest(), zb.getNorthEast());
      }
      if (b && b.isValid()) this.leaflet.fitBounds(b, { padding: [24, 24], maxZoom: 19 });
    }

    holdZone(id) { this._held = id || null; }

    setOwnPosition(lat, lng, accuracy) {
      this.setCenter(lat, lng);
      this._ownFix = { lat, lng, accuracy: accuracy || 0 };
      this._drawOwn();
      this._declutter();
    }

    setWorld(world) {
      this.world = world;
      this.ensureCenter(world);
      this._drawZones(world);
      if (!this._fitted && this.zoneLayers.size) {
        // The first time zones are placed, show them all (later placements keep the view).
        this._fitted = true;
        this.fitZones(world);
      }
      this._drawDecorations(world);
      this._drawPoints(world);
      this._drawItems(world);
      this._drawPlayers(world);
      this._drawOwn();
      this._drawTarget(world);
      this._declutter();
    }

    // A dashed line from the viewer to their objective's target (a flag, a player …).
    _drawTarget(world) {
      const t = world.objective && world.objective.target;
      const me = this._ownFix ? [this._ownFix.lat, this._ownFix.lng]
        : (() => { const p = (world.players || []).find((q) => q.id === world.viewer && q.lat !== undefined); return p ? [p.lat, p.lng] : null; })();
      if (!t || !t.latlng || !me) {
        if (this._target) { this._target.remove(); this._target = null; }
        return;
      }
      if (!this._target) {
        this._target = L.polyline([me, t.latlng], {
          color: "#0d47a1", weight: 3, dashArray: "2 8", lineCap: "round", interactive: false, className: "pw-target",
        }).addTo(this.layers.own);
      } else {
        this._target.setLatLngs([me, t.latlng]);
      }
    }

    draw() {
      if (this.world) this.setWorld(this.world);
    }

    // --- layers ----------------------------------------------------------------------------

    _drawZones(world) {
      const seen = new Set();
      for (const z of world.zones || []) {
        if (!z.geometry) continue;
        seen.add(z.id);
        if (this._held === z.id && this.zoneLayers.has(z.id)) continue;
        const colour = z.colour || (z.exclusion ? ZONE_EXCLUSION : z.navigable === false ? ZONE_BLOCKED : ZONE_DEFAULT);
        const key = JSON.stringify([z.geometry, colour, z.name, z.exclusion, z.navigable]);
        if (this._zoneKeys.get(z.id) === key) continue;
        const old = this.zoneLayers.get(z.id);
        if (old) this.layers.zones.removeLayer(old);
        const style = {
          color: colour,
          weight: 2,
          fillColor: colour,
          fillOpacity: z.navigable === false ? 0.35 : z.exclusion ? 0.25 : 0.12,
          dashArray: z.exclusion ? "6 4" : null,
          interactive: !!this.onZoneClick || !this.viewerMode,
        };
        const g = z.geometry;
        const layer = g.center ? L.circle(g.center, { ...style, radius: g.radius }) : L.polygon(g.points, style);
        layer.pwZone = z;
        layer.bindTooltip(PW.esc(z.name), {
          permanent: true, direction: "center", className: "pw-label pw-zone-label", opacity: 1,
        });
        layer.on("click", (e) => { if (this.onZoneClick) this.onZoneClick(layer.pwZone, e); });
        this.layers.zones.addLayer(layer);
        this.zoneLayers.set(z.id, layer);
        this._zoneKeys.set(z.id, key);
      }
      for (const [id, layer] of this.zoneLayers) {
        if (!seen.has(id)) {
          this.layers.zones.removeLayer(layer);
          this.zoneLayers.delete(id);
          this._zoneKeys.delete(id);
        }
      }
    }

    _drawDecorations(world) {
      const key = JSON.stringify(world.decorations || []);
      if (this._decoKey === key) return;
      this._decoKey = key;
      this.layers.decorations.clearLayers();
      for (const d of world.decorations || []) {
        if (!d.points || !d.points.length) continue;
        const line = L.polyline(d.points, { color: "#37474f", weight: 2, interactive: false });
        if (d.text) line.bindTooltip(PW.esc(d.text), { permanent: true, className: "pw-label", opacity: 1 });
        this.layers.decorations.addLayer(line);
      }
    }

    _upsert(group, key, latlng, icon, label, zIndex) {
      let mk = this._markers.get(key);
      if (!mk) {
        mk = L.marker(latlng, { icon, interactive: false, keyboard: false, zIndexOffset: zIndex || 0 });
        mk.pwIconKey = icon.options.html;
        group.addLayer(mk);
        this._markers.set(key, mk);
      } else {
        mk.setLatLng(latlng);
        if (mk.pwIconKey !== icon.options.html) {
          mk.setIcon(icon);
          mk.pwIconKey = icon.options.html;
        }
        mk.setZIndexOffset(zIndex || 0);
      }
      if (label) {
        const tt = mk.getTooltip();
        if (!tt) {
          mk.bindTooltip(label, { permanent: true, direction: "right", offset: [10, 0], className: "pw-label", opacity: 1 });
        } else if (mk.pwLabel !== label) {
          mk.setTooltipContent(label);
        }
      } else if (mk.getTooltip()) {
        mk.unbindTooltip();
      }
      mk.pwLabel = label;
      mk.pwSeen = true;
      return mk;
    }

    _sweep(prefix) {
      for (const [key, mk] of this._markers) {
        if (!key.startsWith(prefix)) continue;
        if (!mk.pwSeen) {
          mk.remove();
          this._markers.delete(key);
        }
        mk.pwSeen = false;
      }
    }

    _drawPoints(world) {
      const items = (world.items || []).filter((it) => it.lat !== undefined);
      for (const p of world.points || []) {
        const icon = L.divIcon({ className: "pw-point", html: "<span></span>", iconSize: [8, 8] });
        // A point with an item on it (a flag at home) is labelled by the item.
        const covered = items.some((it) => L.latLng(it.lat, it.lng).distanceTo(p.latlng) < 3);
        this._upsert(this.layers.points, `pt:${p.id}`, p.latlng, icon, p.label && !covered ? PW.esc(p.label) : "", -200);
      }
      this._sweep("pt:");
    }

    _drawItems(world) {
      for (const it of world.items || []) {
        if (it.lat === undefined) continue;
        const icon = itemIcon(it, world.teams || []);
        const name = it.label || it.kind;
        this._upsert(this.layers.items, `i:${it.id}`, [it.lat, it.lng], icon, PW.esc(it.heldBy ? `${name} (carried)` : name), 200);
      }
      this._sweep("i:");
    }

    _drawPlayers(world) {
      for (const p of world.players || []) {
        if (p.lat === undefined) continue;
        const me = world.viewer === p.id;
        if (me && this.viewerMode && this._ownFix) continue; // the phone's own fix is newer
        const icon = playerIcon(p, me);
        const tag = p.label ? ` (${p.label})` : "";
        const label = `${PW.esc(p.name)}${PW.esc(tag)}${me ? " · you" : ""}`;
        this._upsert(this.layers.players, `p:${p.id}`, [p.lat, p.lng], icon, label, me ? 1000 : 500);
      }
      this._sweep("p:");
    }

    _drawOwn() {
      const fix = this._ownFix;
      if (!fix) return;
      const w = this.world || {};
      const you = w.you || {};
      const meEntry = (w.players || []).find((p) => p.id === w.viewer) || { colour: "#1565c0" };
      if (!this._own) {
        this._own = {
          circle: L.circle([fix.lat, fix.lng], {
            radius: fix.accuracy, color: "#1565c0", weight: 1, fillColor: "#1e88e5", fillOpacity: 0.15, interactive: false, className: "pw-accuracy",
          }).addTo(this.layers.own),
        };
      }
      this._own.circle.setLatLng([fix.lat, fix.lng]);
      this._own.circle.setRadius(Math.max(0, fix.accuracy));
      const tag = you.label ? ` (${you.label})` : "";
      const name = you.name ? `${PW.esc(you.name)}${PW.esc(tag)} · you` : "You";
      this._own.marker = this._upsert(this.layers.own, "own", [fix.lat, fix.lng], playerIcon({ ...meEntry, ...you, colour: meEntry.colour }, true), name, 1000);
      this._own.marker.pwSeen = true;
    }

    // Permanent labels must not cover each other: the most important first (the viewer, then
    // players, items, points, zones), each tries right, left, above, below of its marker and is
    // hidden when all four would overlap a label already placed.
    _declutter() {
      if (this._declutterQueued) return;
      this._declutterQueued = true;
      requestAnimationFrame(() => {
        this._declutterQueued = false;
        this._declutterNow();
      });
    }

    _declutterNow() {
      const order = [];
      const own = this._markers.get("own");
      if (own) order.push([own, 0]);
      for (const [key, mk] of this._markers) {
        if (key === "own") continue;
        const rank = key.startsWith("p:") ? (mk.options.zIndexOffset >= 1000 ? 0 : 1) : key.startsWith("i:") ? 2 : 3;
        order.push([mk, rank]);
      }
      for (const layer of this.zoneLayers.values()) order.push([layer, 4]);
      order.sort((a, b) => a[1] - b[1]);
      const placed = [];
      // Markers themselves are obstacles too: a label never hides a player, flag or item.
      const icons = [];
      for (const mk of this._markers.values()) {
        if (mk._icon) icons.push([mk, shrink(mk._icon.getBoundingClientRect(), 2)]);
      }
      for (const [layer] of order) {
        const tt = layer.getTooltip && layer.getTooltip();
        if (!tt || !tt._container || !tt._map) continue;
        const el = tt._container;
        const blocked = placed.concat(icons.filter(([mk]) => mk !== layer).map(([, r]) => r));
        el.classList.remove("pw-label-hidden");
        const dirs = tt.options.direction === "center" ? ["center", "top", "bottom"] : ["right", "left", "top", "bottom"];
        let ok = false;
        for (const dir of dirs) {
          tt.options.direction = dir;
          tt.options.offset = dir === "right" ? [10, 0] : dir === "left" ? [-10, 0] : dir === "top" ? [0, -10] : dir === "bottom" ? [0, 10] : [0, 0];
          tt.update();
          const r = el.getBoundingClientRect();
          if (!r.width) { ok = true; break; }
          if (!blocked.some((q) => r.left < q.right && r.right > q.left && r.top < q.bottom && r.bottom > q.top)) {
            placed.push(r);
            ok = true;
            break;
          }
        }
        if (!ok) el.classList.add("pw-label-hidden");
      }
    }
  }

  function shrink(r, by) {
    return { left: r.left + by, top: r.top + by, right: r.right - by, bottom: r.bottom - by };
  }

  // Players: a filled dot in the marker colour with a white ring (bots a rounded square), the
  // viewer bigger with a dark ring; eliminated players grey and hollow.
  function playerIcon(p, me) {
    const colour = p.eliminated ? "#757575" : (p.colour || "#1e88e5");
    const cls = ["pw-player"];
    if (me) cls.push("pw-player-me");
    if (p.bot) cls.push("pw-player-bot");
    if (p.eliminated) cls.push("pw-player-out");
    const size = me ? 22 : 16;
    const html = `<span style="background:${PW.esc(colour)}"></span>`;
    return L.divIcon({ className: cls.join(" "), html, iconSize: [size, size], iconAnchor: [size / 2, size / 2] });
  }

  // Which team an item belongs to: a team id or name inside its kind or icon ("red_flag",
  // "flag-blue"). Flags get the team colour AND a per-team pennant shape AND the team letter.
  const FLAG_SHAPES = [
    "M3 2 L19 7 L3 12 Z", // triangle
    "M3 2 H19 V12 H3 Z", // rectangle
    "M3 2 H19 L14 7 L19 12 H3 Z", // swallowtail
    "M3 2 H15 L19 7 L15 12 H3 Z", // arrow
  ];

  function teamMark(teams, text) {
    const s = String(text || "").toLowerCase();
    for (let i = 0; i < teams.length; i++) {
      const t = teams[i];
      const words = s.split(/[^a-z0-9]+/);
      if (words.includes(String(t.id).toLowerCase()) || words.includes(String(t.name || "").toLowerCase())) {
        return { team: t, index: i, letter: String(t.name || t.id).charAt(0).toUpperCase() };
      }
    }
    return null;
  }

  function itemIcon(it, teams) {
    const mark = teamMark(teams, `${it.kind} ${it.icon || ""}`);
    const isFlag = /flag/i.test(`${it.kind} ${it.icon || ""}`);
    if (isFlag) {
      const colour = mark ? mark.team.colour : "#fdd835";
      const shape = FLAG_SHAPES[mark ? mark.index % FLAG_SHAPES.length : 0];
      const letter = mark ? mark.letter : "";
      const html = `<svg viewBox="0 0 22 26" width="33" height="39" aria-hidden="true">`
        + `<rect x="1.5" y="1" width="2.4" height="24" fill="#212121"/>`
        + `<path d="${shape}" transform="translate(0.5 0) scale(1.05)" fill="${PW.esc(colour)}" stroke="#212121" stroke-width="1.2"/>`
        + `<text x="10.5" y="10.2" text-anchor="middle" font-size="8" font-weight="800" fill="#fff" stroke="#000" stroke-width="0.6" paint-order="stroke">${PW.esc(letter)}</text>`
        + `</svg>`;
      return L.divIcon({ className: `pw-item pw-flag${mark ? " pw-flag-" + PW.esc(mark.team.id) : ""}`, html, iconSize: [33, 39], iconAnchor: [4, 38] });
    }
    const colour = mark ? mark.team.colour : "#ff9800";
    const letter = String(it.label || it.kind || "?").charAt(0).toUpperCase();
    const html = `<span style="background:${PW.esc(colour)}">${PW.esc(letter)}</span>`;
    return L.divIcon({ className: "pw-item pw-item-generic", html, iconSize: [18, 18], iconAnchor: [9, 9] });
  }

  // The placement anchor of a placed zone in map metres: the circle's centre, or the area
  // centroid of the outline (rotation and scale keep it, so it is the engine's anchor).
  function zoneAnchor(map, z) {
    const g = z.geometry;
    if (!g) return null;
    if (g.center) return map.toXY(...g.center);
    const pts = g.points.map((ll) => map.toXY(...ll));
    let a = 0, cx = 0, cy = 0;
    for (let i = 0; i < pts.length; i++) {
      const [x0, y0] = pts[i], [x1, y1] = pts[(i + 1) % pts.length];
      const cr = x0 * y1 - x1 * y0;
      a += cr; cx += (x0 + x1) * cr; cy += (y0 + y1) * cr;
    }
    if (Math.abs(a) < 1e-9) {
      return [pts.reduce((s, p) => s + p[0], 0) / pts.length, pts.reduce((s, p) => s + p[1], 0) / pts.length];
    }
    return [cx / (3 * a), cy / (3 * a)];
  }

  function toast(container, text, ms) {
    const el = document.createElement("div");
    el.className = "pw-toast";
    el.setAttribute("role", "status");
    el.textContent = text;
    container.appendChild(el);
    setTimeout(() => el.remove(), ms || 4000);
    return el;
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  // Seconds as m:ss (h:mm:ss from an hour).
  function fmtTime(sec) {
    if (sec === null || sec === undefined) return "";
    const s = Math.max(0, Math.round(sec));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
  }

  window.PW = { PWMap, zoneAnchor, toast, esc, fmtTime, teamMark };
})();
