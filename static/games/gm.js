// PlayWave games: the GM console. Hosts a session, places zones, runs the match, and watches
// everything live as a spectator. A reload reconnects to the remembered session.
"use strict";

(function () {
  const cfg = JSON.parse(document.getElementById("pw-config").textContent);
  const $ = (id) => document.getElementById(id);
  const map = new PW.PWMap($("map"), { tileUrl: cfg.tileUrl });
  const KEY = "pw.gm.code";
  let ws = null, code = "", world = null, setup = null, drag = null, retry = 0;
  let logSeen = 0;

  function csrf() {
    const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  async function loadLibrary() {
    const r = await fetch(cfg.catalogUrl, { credentials: "same-origin" });
    const games = (await r.json()).games;
    const ul = $("games");
    ul.innerHTML = "";
    for (const g of games) {
      const li = document.createElement("li");
      li.innerHTML = `<b>${PW.esc(g.name)}</b> <span class="pw-muted">${g.minPlayers}–${g.maxPlayers} players</span><br><small>${PW.esc(g.summary)}</small> `;
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "Host";
      b.dataset.game = g.id;
      b.onclick = () => host(g.id);
      li.appendChild(b);
      ul.appendChild(li);
    }
  }

  async function host(gameId) {
    $("library-error").textContent = "";
    const r = await fetch(cfg.sessionsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ game: gameId }),
    });
    const body = await r.json();
    if (!r.ok) { $("library-error").textContent = body.error ? body.error.message : r.statusText; return; }
    open(body.code, body.player_url);
  }

  function open(c, playerUrl) {
    code = c.toUpperCase();
    localStorage.setItem(KEY, code);
    history.replaceState(null, "", `${cfg.gmUrl}${code}/`);
    $("session-code").textContent = code;
    const url = playerUrl || `${location.origin}${cfg.playUrl}${code}/`;
    $("player-url").textContent = url;
    $("player-url").href = url;
    $("library").hidden = true;
    $("session").hidden = false;
    connect();
  }

  function connect() {
    ws = new WebSocket(PW.wsUrl(`${cfg.wsPath}${code}/`));
    ws.onopen = () => send({ type: "spectate" });
    ws.onmessage = (e) => onMessage(JSON.parse(e.data));
    ws.onclose = (e) => {
      ws = null;
      if (e.code === 4404 || e.code === 4410) { leave(e.code === 4404 ? "That session no longer exists." : "The session was closed."); return; }
      if (!code) return;
      const delay = Math.min(10000, 500 * 2 ** retry++);
      $("message").textContent = "Reconnecting…";
      setTimeout(() => { if (code && !ws) connect(); }, delay);
    };
  }

  function leave(why) {
    code = "";
    localStorage.removeItem(KEY);
    if (ws) ws.close();
    ws = null;
    history.replaceState(null, "", cfg.gmUrl);
    $("session").hidden = true;
    $("library").hidden = false;
    $("library-error").textContent = why || "";
  }

  function onMessage(m) {
    switch (m.type) {
      case "welcome":
        retry = 0;
        setup = m.setup;
        $("game-name").textContent = setup.game.name;
        $("log").innerHTML = "";
        logSeen = 0;
        buildPanels();
        onWorld(m.world);
        break;
      case "world": onWorld(m.world); break;
      case "chat_history": $("chat-log").innerHTML = ""; m.messages.forEach(addChat); break;
      case "chat": addChat(m.message); break;
      case "log": break; // the world's log is replayed below, every tick
      case "preflight": showPreflight(m); break;
      case "event":
        if (m.event.type === "game_over") {
          PW.toast($("toasts"), `Game over: ${m.event.reason}`, 6000);
        } else if (m.event.text) {
          PW.toast($("toasts"), m.event.text);
        }
        break;
      case "error":
        $("message").textContent = `${m.code}: ${m.message}`;
        if (m.code === "forbidden") $("message").textContent += " (are you the host?)";
        break;
      default: break;
    }
  }

  function showPreflight(m) {
    const el = $("preflight");
    if (m.ok) { el.innerHTML = '<p class="pw-ok">Pre-flight passed.</p>'; return; }
    el.innerHTML = `<p class="pw-error">Cannot start:</p><ul>${m.failures.map((f) => `<li>${PW.esc(f)}</li>`).join("")}</ul>`;
  }

  function buildPanels() {
    const bots = $("bots");
    bots.innerHTML = "";
    for (const b of setup.bots) {
      const row = document.createElement("div");
      row.className = "pw-row";
      row.innerHTML = `<label>${PW.esc(b.name)} <input type="number" min="${b.min}" max="${b.max}" value="${b.min}" data-bot="${b.id}"></label>`;
      const set = document.createElement("button");
      set.type = "button";
      set.textContent = "Set";
      set.onclick = () => send({ type: "gm.bots", classId: b.id, count: parseInt(row.querySelector("input").value, 10) || 0 });
      row.appendChild(set);
      if (b.tunable) {
        const t = b.tunable;
        const lab = document.createElement("label");
        lab.innerHTML = `${PW.esc(t.label || t.key)} <input type="range" min="${t.min}" max="${t.max}" step="0.1" value="${Math.min(t.max, Math.max(t.min, b.speed))}" data-tunable="${t.key}"> <output></output>`;
        const input = lab.querySelector("input");
        lab.querySelector("output").textContent = input.value;
        input.oninput = () => { lab.querySelector("output").textContent = input.value; };
        input.onchange = () => send({ type: "gm.tunable", key: t.key, value: parseFloat(input.value) });
        row.appendChild(lab);
      }
      bots.appendChild(row);
    }
    const kinds = $("item-kind");
    kinds.innerHTML = setup.itemTypes.map((t) => `<option value="${PW.esc(t.kind)}">${PW.esc(t.label)}</option>`).join("");
    $("spawn").disabled = !setup.itemTypes.length;
  }

  function onWorld(w) {
    world = w;
    if (!map.center) {
      map.ensureCenter(w);
      if (!map.center && navigator.geolocation) {
        navigator.geolocation.getCurrentPosition((p) => { map.setCenter(p.coords.latitude, p.coords.longitude); map.draw(); }, () => {});
      }
    }
    map.setWorld(w);
    $("message").textContent = "";
    $("status").textContent = w.status;
    $("status").dataset.status = w.status;
    $("remaining").textContent = w.remainingSeconds != null ? PW.fmtTime(w.remainingSeconds) : "";
    $("start").textContent = w.status === "stopped" && w.elapsedSeconds > 0 ? "Resume" : "Start";
    $("start").disabled = w.status !== "stopped";
    $("pause").disabled = w.status !== "started";
    $("end").disabled = w.status === "ended";
    // Zones the GM may place.
    const sel = $("zone-select");
    const placeable = (w.zones || []).filter((z) => z.placeable && !z.parent);
    const ids = placeable.map((z) => z.id).join(",");
    if (sel.dataset.ids !== ids) {
      const keep = sel.value;
      sel.innerHTML = placeable.map((z) => `<option value="${PW.esc(z.id)}">${PW.esc(z.name)}${z.required ? " *" : ""}</option>`).join("");
      sel.dataset.ids = ids;
      if (keep) sel.value = keep;
    }
    const z = selectedZone();
    if (z && z.placement && !drag && document.activeElement !== $("rotation") && document.activeElement !== $("scale")) {
      $("rotation").value = Math.round(z.placement.rotation * 10) / 10;
      $("scale").value = Math.round(z.placement.scale * 100) / 100;
    }
    // Players and bots.
    const counts = {};
    const ul = $("players");
    ul.innerHTML = "";
    for (const p of w.players || []) {
      if (p.bot) counts[p.bot] = (counts[p.bot] || 0) + 1;
      const li = document.createElement("li");
      const state = Object.entries(p.state || {}).map(([k, v]) => `${k}=${v}`).join(" ");
      li.innerHTML = `<span class="pw-dot" style="background:${PW.esc(p.colour || "#888")}"></span>${PW.esc(p.name)} <small class="pw-muted">${PW.esc(state)}</small>`;
      ul.appendChild(li);
    }
    document.querySelectorAll("[data-bot]").forEach((input) => {
      if (document.activeElement !== input) input.value = counts[input.dataset.bot] || 0;
    });
    // The event log (the GM snapshot carries the recent log).
    const log = w.log || [];
    const ol = $("log");
    if (log.length < logSeen) { ol.innerHTML = ""; logSeen = 0; }
    ol.innerHTML = "";
    for (const e of log) {
      const li = document.createElement("li");
      li.textContent = e.text;
      ol.appendChild(li);
    }
    logSeen = log.length;
    ol.scrollTop = ol.scrollHeight;
  }

  function selectedZone() {
    if (!world) return null;
    return (world.zones || []).find((z) => z.id === $("zone-select").value) || null;
  }

  function place(zoneId, lat, lng, rotation, scale) {
    send({ type: "gm.place", zoneId, origin: { lat, lng }, rotation: norm(rotation), scale: Math.min(20, Math.max(0.05, scale)) });
  }

  function norm(deg) {
    let d = deg % 360;
    if (d > 180) d -= 360;
    if (d < -180) d += 360;
    return Math.round(d * 10) / 10;
  }

  function handles(z) {
    const a = PW.zoneAnchor(map, z);
    if (!a) return null;
    const g = z.geometry;
    let r = g.radius;
    if (!r) r = Math.max(...g.points.map((ll) => { const [x, y] = map.toXY(...ll); return Math.hypot(x - a[0], y - a[1]); }));
    const rot = (z.placement ? z.placement.rotation : 0) * Math.PI / 180;
    // Rotation handle straight "up" from the anchor (turned with the zone), scale handle east.
    return {
      anchor: a, r,
      rotate: [a[0] + Math.sin(rot) * (r + 10 / map.view.s * 2), a[1] + Math.cos(rot) * (r + 10 / map.view.s * 2)],
      scale: [a[0] + Math.cos(rot) * r, a[1] - Math.sin(rot) * r],
    };
  }

  map.overlay = (ctx, m) => {
    const z = selectedZone();
    if (!z || !z.geometry) return;
    const h = handles(z);
    let tf = null;
    if (drag) {
      const { dx, dy, dRot, ratio } = drag;
      const [ax, ay] = h.anchor;
      const c = Math.cos(dRot), s = Math.sin(dRot);
      tf = (x, y) => {
        const ux = (x - ax) * ratio, uy = (y - ay) * ratio;
        return [ax + dx + ux * c + uy * s, ay + dy - ux * s + uy * c];
      };
      tf.scale = ratio;
    }
    m.zonePath(ctx, z, tf);
    ctx.setLineDash([6, 4]);
    ctx.strokeStyle = "#0d47a1";
    ctx.lineWidth = 2;
    ctx.stroke();
    ctx.setLineDash([]);
    if (drag || world.status !== "stopped") return;
    const [rx, ry] = m.toScreen(...h.rotate);
    const [sx, sy] = m.toScreen(...h.scale);
    ctx.fillStyle = "#0d47a1";
    ctx.beginPath(); ctx.arc(rx, ry, 7, 0, Math.PI * 2); ctx.fill();
    ctx.fillRect(sx - 6, sy - 6, 12, 12);
  };

  map.onPointer = {
    down(e, p) {
      const z = selectedZone();
      if (!z || !z.geometry || !world || world.status !== "stopped") return false;
      const h = handles(z);
      const near = (pt) => { const [sx, sy] = map.toScreen(...pt); return Math.hypot(sx - p.px, sy - p.py) < 12; };
      let mode = null;
      if (near(h.rotate)) mode = "rotate";
      else if (near(h.scale)) mode = "scale";
      else if (Math.hypot(p.x - h.anchor[0], p.y - h.anchor[1]) <= h.r) mode = "move";
      if (!mode) return false;
      drag = { mode, z, h, start: [p.x, p.y], dx: 0, dy: 0, dRot: 0, ratio: 1 };
      return true;
    },
    move(e, p) {
      if (!drag) return;
      const [ax, ay] = drag.h.anchor;
      if (drag.mode === "move") { drag.dx = p.x - drag.start[0]; drag.dy = p.y - drag.start[1]; }
      if (drag.mode === "rotate") {
        const a0 = Math.atan2(drag.start[0] - ax, drag.start[1] - ay);
        const a1 = Math.atan2(p.x - ax, p.y - ay);
        drag.dRot = a1 - a0; // clockwise, like a bearing
      }
      if (drag.mode === "scale") {
        const d0 = Math.hypot(drag.start[0] - ax, drag.start[1] - ay);
        drag.ratio = Math.max(0.05, Math.hypot(p.x - ax, p.y - ay) / Math.max(d0, 0.01));
      }
      map.draw();
    },
    up() {
      if (!drag) return;
      const { z, h, dx, dy, dRot, ratio } = drag;
      drag = null;
      const pl = z.placement || { rotation: 0, scale: 1 };
      const [lat, lng] = map.toLatLng(h.anchor[0] + dx, h.anchor[1] + dy);
      place(z.id, lat, lng, pl.rotation + dRot * 180 / Math.PI, pl.scale * ratio);
    },
  };

  $("place-here").onclick = () => {
    const z = selectedZone();
    const c = map.centerLatLng();
    if (!z) return;
    if (!c) { $("message").textContent = "No map position yet: allow location, or wait for a player."; return; }
    place(z.id, c[0], c[1], parseFloat($("rotation").value) || 0, parseFloat($("scale").value) || 1);
  };
  $("place-apply").onclick = () => {
    const z = selectedZone();
    if (!z || !z.geometry) { $("place-here").click(); return; }
    const [lat, lng] = map.toLatLng(...PW.zoneAnchor(map, z));
    place(z.id, lat, lng, parseFloat($("rotation").value) || 0, parseFloat($("scale").value) || 1);
  };
  $("zone-select").onchange = () => map.draw();
  $("start").onclick = () => { $("preflight").innerHTML = ""; send({ type: "gm.start" }); };
  $("pause").onclick = () => send({ type: "gm.stop" });
  $("end").onclick = () => { if (confirm("End the game for everyone?")) send({ type: "gm.end" }); };
  $("leave").onclick = () => leave("");
  $("spawn").onclick = () => {
    const c = map.centerLatLng();
    if (c) send({ type: "gm.spawn", kind: $("item-kind").value, at: { lat: c[0], lng: c[1] } });
  };
  $("chat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const t = $("chat-text").value.trim();
    if (t) send({ type: "chat", text: t });
    $("chat-text").value = "";
  });
  document.querySelectorAll("[data-zoom]").forEach((b) => {
    b.addEventListener("click", () => map.zoom(parseFloat(b.dataset.zoom)));
  });

  function addChat(m) {
    const li = document.createElement("li");
    li.innerHTML = `<b>${PW.esc(m.name)}</b> ${PW.esc(m.text)}`;
    $("chat-log").appendChild(li);
  }

  loadLibrary();
  const remembered = cfg.code || localStorage.getItem(KEY);
  if (remembered) open(remembered);
})();
