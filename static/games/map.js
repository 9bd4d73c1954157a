// PlayWave games: a canvas map drawn locally in metres (x east, y north) around a centre.
// Without a tile URL it draws a plain grid, so it works with no internet at all.
"use strict";

(function () {
  const M_PER_DEG = Math.PI / 180 * 6371008.8;

  class PWMap {
    constructor(canvas, opts) {
      this.canvas = canvas;
      this.ctx = canvas.getContext("2d");
      this.tileUrl = (opts && opts.tileUrl) || "";
      this.center = null; // [lat, lng] of the frame origin
      this.view = { x: 0, y: 0, s: 2 }; // metres at the canvas centre, pixels per metre
      this.world = null;
      this.overlay = null; // function(ctx, map) drawn last (GM handles)
      this.tiles = new Map();
      this.onPointer = null; // {down, move, up}(event, {x, y, lat, lng})
      this._drag = null;
      this._bind();
      this.resize();
      window.addEventListener("resize", () => { this.resize(); this.draw(); });
    }

    resize() {
      const r = this.canvas.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      this.canvas.width = Math.max(1, Math.round(r.width * dpr));
      this.canvas.height = Math.max(1, Math.round(r.height * dpr));
      this.dpr = dpr;
    }

    setCenter(lat, lng) {
      if (!this.center) this.center = [lat, lng];
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

    toScreen(x, y) {
      const w = this.canvas.width / this.dpr, h = this.canvas.height / this.dpr;
      return [w / 2 + (x - this.view.x) * this.view.s, h / 2 - (y - this.view.y) * this.view.s];
    }

    fromScreen(px, py) {
      const w = this.canvas.width / this.dpr, h = this.canvas.height / this.dpr;
      return [this.view.x + (px - w / 2) / this.view.s, this.view.y - (py - h / 2) / this.view.s];
    }

    centerLatLng() {
      return this.center ? this.toLatLng(this.view.x, this.view.y) : null;
    }

    // Centre the map on the world once: placed zones, else positioned players.
    ensureCenter(world) {
      if (this.center) return;
      for (const z of world.zones || []) {
        const g = z.geometry;
        if (g) { this.setCenter(...(g.center || g.points[0])); return; }
      }
      for (const p of world.players || []) {
        if (p.lat !== undefined) { this.setCenter(p.lat, p.lng); return; }
      }
    }

    setWorld(world) {
      this.world = world;
      this.ensureCenter(world);
      this.draw();
    }

    _bind() {
      const c = this.canvas;
      const pos = (e) => {
        const r = c.getBoundingClientRect();
        const px = e.clientX - r.left, py = e.clientY - r.top;
        const [x, y] = this.fromScreen(px, py);
        const ll = this.center ? this.toLatLng(x, y) : [null, null];
        return { px, py, x, y, lat: ll[0], lng: ll[1] };
      };
      c.addEventListener("pointerdown", (e) => {
        const p = pos(e);
        if (this.onPointer && this.onPointer.down && this.onPointer.down(e, p)) {
          this._drag = { custom: true };
        } else {
          this._drag = { px: p.px, py: p.py, vx: this.view.x, vy: this.view.y };
        }
        c.setPointerCapture(e.pointerId);
      });
      c.addEventListener("pointermove", (e) => {
        if (!this._drag) return;
        const p = pos(e);
        if (this._drag.custom) { this.onPointer.move && this.onPointer.move(e, p); return; }
        this.view.x = this._drag.vx - (p.px - this._drag.px) / this.view.s;
        this.view.y = this._drag.vy + (p.py - this._drag.py) / this.view.s;
        this.draw();
      });
      const up = (e) => {
        if (this._drag && this._drag.custom && this.onPointer.up) this.onPointer.up(e, pos(e));
        this._drag = null;
      };
      c.addEventListener("pointerup", up);
      c.addEventListener("pointercancel", up);
      c.addEventListener("wheel", (e) => {
        e.preventDefault();
        this.zoom(e.deltaY < 0 ? 1.25 : 0.8);
      }, { passive: false });
    }

    zoom(f) {
      this.view.s = Math.min(40, Math.max(0.05, this.view.s * f));
      this.draw();
    }

    _gridStep() {
      const target = 80 / this.view.s; // about 80 px between lines
      for (const step of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]) {
        if (step >= target) return step;
      }
      return 10000;
    }

    _drawTiles(ctx, w, h) {
      if (!this.tileUrl || !this.center) return;
      const lat = this.center[0];
      const mpp = 1 / this.view.s;
      let z = Math.round(Math.log2(156543.03 * Math.cos(lat * Math.PI / 180) / mpp));
      z = Math.max(1, Math.min(19, z));
      const n = 2 ** z;
      const tileOf = (la, ln) => [
        (ln + 180) / 360 * n,
        (1 - Math.log(Math.tan(la * Math.PI / 180) + 1 / Math.cos(la * Math.PI / 180)) / Math.PI) / 2 * n,
      ];
      const llOf = (tx, ty) => {
        const ln = tx / n * 360 - 180;
        const la = Math.atan(Math.sinh(Math.PI * (1 - 2 * ty / n))) * 180 / Math.PI;
        return [la, ln];
      };
      const [x0, y0] = this.fromScreen(0, 0), [x1, y1] = this.fromScreen(w, h);
      const a = tileOf(...this.toLatLng(x0, y0)), b = tileOf(...this.toLatLng(x1, y1));
      for (let tx = Math.floor(a[0]); tx <= Math.floor(b[0]); tx++) {
        for (let ty = Math.floor(a[1]); ty <= Math.floor(b[1]); ty++) {
          const url = this.tileUrl.replace("{z}", z).replace("{x}", tx).replace("{y}", ty);
          let img = this.tiles.get(url);
          if (!img) {
            img = new Image();
            img.onload = () => this.draw();
            img.onerror = () => { img.failed = true; };
            img.src = url;
            this.tiles.set(url, img);
          }
          if (!img.complete || img.failed || !img.naturalWidth) continue;
          const [sx0, sy0] = this.toScreen(...this.toXY(...llOf(tx, ty)));
          const [sx1, sy1] = this.toScreen(...this.toXY(...llOf(tx + 1, ty + 1)));
          ctx.drawImage(img, sx0, sy0, sx1 - sx0, sy1 - sy0);
        }
      }
    }

    draw() {
      const ctx = this.ctx, dpr = this.dpr;
      const w = this.canvas.width / dpr, h = this.canvas.height / dpr;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.fillStyle = "#f4f6f3";
      ctx.fillRect(0, 0, w, h);
      this._drawTiles(ctx, w, h);
      // The grid in metres.
      const step = this._gridStep();
      const [xa, ya] = this.fromScreen(0, h), [xb, yb] = this.fromScreen(w, 0);
      ctx.strokeStyle = "rgba(0,0,0,0.08)";
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let x = Math.floor(xa / step) * step; x <= xb; x += step) {
        const [sx] = this.toScreen(x, 0);
        ctx.moveTo(sx, 0); ctx.lineTo(sx, h);
      }
      for (let y = Math.floor(ya / step) * step; y <= yb; y += step) {
        const [, sy] = this.toScreen(0, y);
        ctx.moveTo(0, sy); ctx.lineTo(w, sy);
      }
      ctx.stroke();
      ctx.fillStyle = "rgba(0,0,0,0.55)";
      ctx.font = "11px sans-serif";
      ctx.fillText(`grid ${step} m`, 8, h - 8);
      if (!this.center || !this.world) {
        if (this.overlay) this.overlay(ctx, this);
        return;
      }
      const world = this.world;
      for (const z of world.zones || []) this._drawZone(ctx, z);
      for (const d of world.decorations || []) {
        if (!d.points.length) continue;
        ctx.strokeStyle = "#555";
        ctx.beginPath();
        d.points.forEach((ll, i) => {
          const [sx, sy] = this.toScreen(...this.toXY(...ll));
          if (i) ctx.lineTo(sx, sy); else ctx.moveTo(sx, sy);
        });
        ctx.stroke();
        if (d.text) {
          const [sx, sy] = this.toScreen(...this.toXY(...d.points[0]));
          ctx.fillText(d.text, sx + 4, sy - 4);
        }
      }
      for (const p of world.points || []) {
        const [sx, sy] = this.toScreen(...this.toXY(...p.latlng));
        ctx.fillStyle = "#333";
        ctx.fillRect(sx - 3, sy - 3, 6, 6);
        if (p.label) ctx.fillText(p.label, sx + 5, sy - 5);
      }
      for (const it of world.items || []) {
        if (it.lat === undefined) continue;
        const [sx, sy] = this.toScreen(...this.toXY(it.lat, it.lng));
        ctx.fillStyle = "#ff9800";
        ctx.beginPath();
        ctx.moveTo(sx, sy - 7); ctx.lineTo(sx + 6, sy + 5); ctx.lineTo(sx - 6, sy + 5);
        ctx.closePath(); ctx.fill();
        ctx.fillStyle = "#333";
        ctx.fillText(it.label || it.kind, sx + 8, sy + 4);
      }
      for (const p of world.players || []) {
        if (p.lat === undefined) continue;
        const [sx, sy] = this.toScreen(...this.toXY(p.lat, p.lng));
        const me = world.viewer === p.id;
        ctx.fillStyle = p.colour || "#1e88e5";
        ctx.beginPath();
        ctx.arc(sx, sy, me ? 9 : 7, 0, Math.PI * 2);
        ctx.fill();
        ctx.lineWidth = me ? 3 : 1.5;
        ctx.strokeStyle = me ? "#000" : "#fff";
        ctx.stroke();
        ctx.fillStyle = "#111";
        ctx.font = "12px sans-serif";
        const tag = p.label ? ` (${p.label})` : "";
        ctx.fillText(`${p.name}${tag}`, sx + 11, sy + 4);
      }
      if (this.overlay) this.overlay(ctx, this);
    }

    zonePath(ctx, z, transform) {
      const g = z.geometry;
      const tf = transform || ((x, y) => [x, y]);
      ctx.beginPath();
      if (g.center) {
        const [cx, cy] = tf(...this.toXY(...g.center));
        const [sx, sy] = this.toScreen(cx, cy);
        const r = g.radius * (transform && transform.scale ? transform.scale : 1) * this.view.s;
        ctx.arc(sx, sy, r, 0, Math.PI * 2);
      } else {
        g.points.forEach((ll, i) => {
          const [sx, sy] = this.toScreen(...tf(...this.toXY(...ll)));
          if (i) ctx.lineTo(sx, sy); else ctx.moveTo(sx, sy);
        });
        ctx.closePath();
      }
    }

    _drawZone(ctx, z) {
      if (!z.geometry) return;
      const colour = z.colour || (z.exclusion ? "#9e9e9e" : z.navigable === false ? "#616161" : "#43a047");
      this.zonePath(ctx, z);
      ctx.fillStyle = colour + "33";
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2;
      ctx.fill();
      ctx.stroke();
      const a = zoneAnchor(this, z);
      if (a) {
        const [sx, sy] = this.toScreen(a[0], a[1]);
        ctx.fillStyle = "#1b5e20";
        ctx.font = "12px sans-serif";
        ctx.fillText(z.name, sx - ctx.measureText(z.name).width / 2, sy);
      }
    }
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
    el.textContent = text;
    container.appendChild(el);
    setTimeout(() => el.remove(), ms || 4000);
  }

  function wsUrl(path) {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}${path}`;
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  function fmtTime(sec) {
    if (sec === null || sec === undefined) return "";
    const s = Math.max(0, Math.round(sec));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  window.PW = { PWMap, zoneAnchor, toast, wsUrl, esc, fmtTime };
})();
