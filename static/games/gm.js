// PlayWave games: the GM console. Hosts a session, places zones on the Leaflet map (tap to
// place; drag, rotate and resize with Geoman while stopped), runs the match with a live
// pre-flight checklist, manages players (message, team, state, remove) and shows the result.
// A reload reconnects to the remembered session; an ended one offers to host a new game.
"use strict";

(function () {
  const cfg = JSON.parse(document.getElementById("pw-config").textContent);
  const $ = (id) => document.getElementById(id);
  const KEY = "pw.gm.code";
  const LAST = "pw.gm.last";
  const REASONS = {
    gm: "The game master ended the game.",
    time_up: "Time ran out.",
    elimination: "Only one side was left standing.",
    three_captures: "A team captured three flags.",
    all_frozen: "Everyone was frozen.",
    all_infected: "Everyone was infected.",
    crowned: "A king held the hill long enough.",
    last_standing: "One player was left standing.",
    survivors: "The survivors held out to the end.",
    end_game: "The game's goal was reached.",
  };
  const STATUS = { stopped: "Not started", paused: "Paused", started: "Running", ended: "Game over" };

  const map = new PW.PWMap($("map"), { tileUrl: cfg.tileUrl, tileAttribution: cfg.tileAttribution });
  let sock = null, code = "", world = null, setup = null, host = false;
  let gmPos = null, armed = false, editor = null, held = null, fromHome = false, placedCount = 0;
  const names = {}; // player id -> last known name (scores of removed players)
  const rows = new Map(); // player id -> <li>

  function csrf() {
    const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  const CLOSE = PWSocket.CLOSE;
  const chat = PW.chat({ log: $("chat-log"), form: $("chat-form"), input: $("chat-text"), send });

  function send(msg) {
    if (sock && sock.send(msg)) return true;
    say("Not connected to the game server; reconnecting…");
    return false;
  }

  function say(text) { $("message").textContent = text || ""; }
  function hint(text) { $("map-hint").textContent = text || ""; }

  function mmss(seconds) {
    const s = Math.max(0, Math.round(seconds || 0));
    return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  }

  function reasonText(r) {
    if (REASONS[r]) return REASONS[r];
    const words = String(r || "ended").replace(/[_-]+/g, " ");
    return `${words.charAt(0).toUpperCase()}${words.slice(1)}.`;
  }

  // --- library and hosting -------------------------------------------------------------------

  async function loadLibrary() {
    const r = await fetch(cfg.catalogUrl, { credentials: "same-origin" });
    const games = (await r.json()).games;
    const ul = $("games");
    ul.innerHTML = "";
    for (const g of games) {
      const li = document.createElement("li");
      li.className = "gm-game";
      const teams = g.teams.length ? ` · ${g.teams.map((t) => t.name).join(" v ")}` : "";
      const mins = g.countdownSeconds ? ` · ${Math.round(g.countdownSeconds / 60)} min` : "";
      li.innerHTML = `<div><b>${PW.esc(g.name)}</b> <span class="gm-game-meta">${g.minPlayers}–${g.maxPlayers} players${PW.esc(teams)}${mins}</span><p>${PW.esc(g.summary)}</p></div>`;
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "Host";
      b.dataset.game = g.id;
      b.setAttribute("aria-label", `Host ${g.name}`);
      b.onclick = () => hostGame(g.id);
      li.appendChild(b);
      ul.appendChild(li);
    }
  }

  async function hostGame(gameId) {
    $("library-error").textContent = "";
    const r = await fetch(cfg.sessionsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ game: gameId }),
    });
    const body = await r.json();
    if (!r.ok) { $("library-error").textContent = body.error ? body.error.message : r.statusText; return; }
    open(body.code, body.player_url, false);
  }

  function open(c, playerUrl, home) {
    code = c.toUpperCase();
    fromHome = !!home;
    if (!home) {
      localStorage.setItem(KEY, code);
      history.replaceState(null, "", `${cfg.gmUrl}${code}/`);
    }
    resetSession();
    $("session-code").textContent = code;
    const url = playerUrl || `${location.origin}${cfg.playUrl}${code}/`;
    $("player-url").textContent = url;
    $("player-url").href = url;
    $("qr").src = `${cfg.gmUrl}${code}/qr.svg`;
    $("qr").alt = `QR code of the join link ${url}`;
    if (!home) showSession();
    connect();
  }

  function showSession() {
    $("library").hidden = true;
    $("session").hidden = false;
    $("gm-main").dataset.mode = "session";
    // Measured while hidden (0×0), the view's centre is its top-left corner: keep that point
    // in the middle once the map has a size.
    const c = map.leaflet.getCenter(), zoom = map.leaflet.getZoom();
    map.invalidate();
    if (map.center) map.leaflet.setView(c, zoom, { animate: false });
  }

  function showLibrary() {
    $("session").hidden = true;
    $("library").hidden = false;
    $("gm-main").dataset.mode = "library";
  }

  // Everything of the previous game goes, so a second game in the same tab starts clean.
  function resetSession() {
    world = null; setup = null; host = false; armed = false; placedCount = 0;
    detachEditor();
    held = null;
    map.holdZone(null);
    map.setWorld({ zones: [], points: [], decorations: [], items: [], players: [] });
    const sel = $("zone-select");
    sel.innerHTML = ""; delete sel.dataset.ids;
    rows.clear();
    $("players").innerHTML = "";
    $("log").innerHTML = "";
    chat.clear();
    $("summary").hidden = true;
    $("session-code").textContent = "";
    $("game-name").textContent = "";
    $("status").textContent = "";
    delete $("status").dataset.status;
    $("remaining").textContent = "";
    $("preflight").innerHTML = "";
    $("preflight-head").textContent = "";
    say(""); hint("");
  }

  function connect() {
    const mine = code;
    const path = `${cfg.wsPath}${mine}/`;
    if (sock && sock.path === path) { sock.reopen(); return; }
    if (sock) sock.stop();
    sock = PWSocket.open(path, {
      onOpen: (s) => s.send({ type: "spectate" }),
      onMessage,
      onClose: (c) => {
        if (c === CLOSE.UNKNOWN_CODE || c === CLOSE.REAPED) {
          forget();
          if (world && world.status === "ended") return false; // the summary stays on screen
          leave(c === CLOSE.UNKNOWN_CODE ? `Session ${mine} no longer exists. Host a new game.` : `Session ${mine} was closed. Host a new game.`);
          return false;
        }
        if (!code || (world && world.status === "ended")) return false;
        say("Connection lost; reconnecting…");
        return true;
      },
      onRetry: () => { if (code === mine) sock.reopen(); },
    });
  }

  function forget() {
    if (localStorage.getItem(KEY) === code) localStorage.removeItem(KEY);
  }

  function leave(why) {
    forget();
    code = "";
    if (sock) sock.stop();
    sock = null;
    resetSession();
    history.replaceState(null, "", cfg.gmUrl);
    showLastResult();
    showLibrary();
    $("library-error").textContent = why || "";
  }

  // --- messages ------------------------------------------------------------------------------

  function onMessage(m) {
    switch (m.type) {
      case "welcome":
        sock.settled();
        setup = m.setup;
        host = !!m.host;
        $("game-name").textContent = setup.game.name;
        buildPanels();
        if (m.world.status === "ended" && fromHome) {
          // /games/gm/ remembered a game that is over: offer a new one, with its result.
          remember(m.world);
          leave("");
          return;
        }
        if (fromHome) { fromHome = false; history.replaceState(null, "", `${cfg.gmUrl}${code}/`); }
        showSession();
        onWorld(m.world);
        // A welcome after a drop means the connection is back: the "reconnecting" line goes.
        say(host ? "" : "You are watching: only the staff user who hosts this game can change it.");
        break;
      case "world": onWorld(m.world); break;
      case "chat_history": chat.replace(m.messages); break;
      case "chat": chat.add(m.message); break;
      case "log": break; // the world's log is replayed with every world
      case "preflight": if (!m.ok) say("Not started: fix the pre-flight items first."); break;
      case "event":
        if (m.event.type === "game_over") {
          PW.toast($("toasts"), `Game over. ${reasonText(m.event.reason)}`, 6000);
        } else if (m.event.text) {
          PW.toast($("toasts"), m.event.text);
        }
        break;
      case "error":
        say(m.message);
        PW.toast($("toasts"), m.message, 6000); // seen wherever the GM has scrolled to
        break;
      default: break;
    }
  }

  function remember(w) {
    if (!w.result) return;
    const rec = { code, game: (w.game || {}).name, result: w.result, elapsed: w.elapsedSeconds, names: { ...names }, teams: w.teams || [] };
    for (const p of w.players || []) rec.names[p.id] = p.name;
    localStorage.setItem(LAST, JSON.stringify(rec));
  }

  function showLastResult() {
    const el = $("last-result");
    let rec = null;
    try { rec = JSON.parse(localStorage.getItem(LAST) || "null"); } catch (e) { rec = null; }
    if (!rec || !rec.result) { el.hidden = true; return; }
    const r = rec.result;
    el.innerHTML = `<h2>Last game: ${PW.esc(rec.game || "")} (${PW.esc(rec.code)})</h2><p>${PW.esc(reasonText(r.reason))} ${PW.esc(winnersText(r, rec.teams))} Played for ${mmss(rec.elapsed)}.</p>`;
    el.hidden = false;
  }

  function winnersText(r, teams) {
    if (r.winnerTeams && r.winnerTeams.length) {
      const byId = Object.fromEntries((teams || []).map((t) => [t.id, t.name]));
      return `Winners: ${r.winnerTeams.map((t) => byId[t] || t).join(", ")}.`;
    }
    if (r.winnerNames && r.winnerNames.length) return `Winners: ${r.winnerNames.join(", ")}.`;
    return "No winner.";
  }

  // --- panels --------------------------------------------------------------------------------

  function buildPanels() {
    const bots = $("bots");
    bots.innerHTML = "";
    if (!setup.bots.length) bots.innerHTML = '<p class="gm-note">This game has no bots.</p>';
    for (const b of setup.bots) {
      const row = document.createElement("div");
      row.className = "gm-row";
      const id = `bot-${b.id}`;
      row.innerHTML = `<label class="gm-field" for="${id}">${PW.esc(b.name)} (${b.min}–${b.max})<input id="${id}" type="number" min="${b.min}" max="${b.max}" step="1" value="${b.min}" data-bot="${PW.esc(b.id)}" inputmode="numeric"></label>`;
      const set = document.createElement("button");
      set.type = "button";
      set.className = "gm-secondary";
      set.textContent = "Set";
      set.setAttribute("aria-label", `Set the number of ${b.name}s`);
      set.onclick = () => {
        const input = row.querySelector("input");
        const n = parseInt(input.value, 10);
        if (!Number.isInteger(n) || n < b.min || n > b.max) { say(`${b.name}: enter a whole number from ${b.min} to ${b.max}.`); return; }
        input.dataset.dirty = "";
        send({ type: "gm.bots", classId: b.id, count: n });
      };
      row.querySelector("input").addEventListener("input", (e) => { e.target.dataset.dirty = "1"; });
      row.appendChild(set);
      if (b.tunable) {
        const t = b.tunable;
        const lab = document.createElement("label");
        lab.className = "gm-field";
        lab.innerHTML = `${PW.esc(t.label || t.key)} <span><input type="range" min="${t.min}" max="${t.max}" step="0.1" value="${Math.min(t.max, Math.max(t.min, b.speed))}" data-tunable="${PW.esc(t.key)}"> <output></output></span>`;
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
    $("items-card").hidden = !setup.itemTypes.length;
  }

  function onWorld(w) {
    world = w;
    for (const p of w.players || []) names[p.id] = p.name;
    const ended = w.status === "ended";
    const paused = w.status === "stopped" && w.elapsedSeconds > 0;
    const stopped = w.status === "stopped";
    if (held && zoneKey(w, held.id) !== held.key) { map.holdZone(null); held = null; }
    // Geoman lets go of a layer before map.js replaces it with the moved zone's new one.
    if (editor && !editor.busy && zoneKey(w, editor.zoneId) !== editor.key) detachEditor();
    map.setWorld(w);
    const placed = (w.zones || []).filter((z) => z.placed && !z.parent).length;
    if (placed > placedCount && !editor?.busy) map.fitZones(w); // a new zone: show all of them
    placedCount = placed;
    $("status").textContent = paused ? STATUS.paused : STATUS[w.status] || w.status;
    $("status").dataset.status = w.status;
    $("remaining").textContent = w.remainingSeconds != null && !ended ? `${PW.fmtTime(w.remainingSeconds)} left` : "";
    $("start").textContent = paused ? "Resume" : "Start";
    $("start").disabled = !host || !stopped;
    $("pause").disabled = !host || w.status !== "started";
    $("end").disabled = !host || ended;
    zonesPanel(w, stopped && host);
    for (const id of ["spawn", "spawn-me", "item-kind"]) $(id).disabled = !host || ended;
    document.querySelectorAll("#bots input, #bots button").forEach((el) => { el.disabled = !host || ended; });
    botCounts(w);
    preflightPanel(w);
    playersPanel(w);
    logPanel(w);
    if (ended) summary(w);
    syncEditor();
  }

  function botCounts(w) {
    const counts = w.botCounts || {};
    document.querySelectorAll("[data-bot]").forEach((input) => {
      if (document.activeElement === input || input.dataset.dirty) return;
      input.value = counts[input.dataset.bot] || 0;
    });
  }

  function zonesPanel(w, canEdit) {
    const sel = $("zone-select");
    const placeable = (w.zones || []).filter((z) => z.placeable && !z.parent);
    const ids = placeable.map((z) => z.id).join(",");
    if (sel.dataset.ids !== ids) {
      const keep = sel.value;
      sel.innerHTML = placeable.map((z) => `<option value="${PW.esc(z.id)}">${PW.esc(z.name)}${z.required ? " (required)" : ""}</option>`).join("");
      sel.dataset.ids = ids;
      const first = placeable.find((z) => !z.placed && z.required) || placeable.find((z) => !z.placed) || placeable[0];
      sel.value = placeable.some((z) => z.id === keep) ? keep : first ? first.id : "";
    }
    for (const o of sel.options) {
      const z = placeable.find((q) => q.id === o.value);
      if (z) o.textContent = `${z.name}${z.required ? " (required)" : ""}${z.placed ? " ✓ placed" : ""}`;
    }
    const z = selectedZone();
    for (const id of ["zone-select", "place-click", "place-me", "place-here", "rotation", "scale", "place-apply"]) {
      $(id).disabled = !canEdit || !z;
    }
    $("place-apply").disabled = !canEdit || !z || !z.placed;
    $("zones-card").hidden = !placeable.length;
    if (z && z.placement && !editor?.busy && !["rotation", "scale"].includes(document.activeElement.id)) {
      $("rotation").value = Math.round(z.placement.rotation * 10) / 10;
      $("scale").value = Math.round(z.placement.scale * 100) / 100;
    }
    const clicking = canEdit && z && (armed || !z.placed);
    $("place-click").setAttribute("aria-pressed", clicking ? "true" : "false");
    $("map").classList.toggle("gm-armed", !!clicking);
    if (!canEdit) {
      hint(w.status === "started" ? "Pause the game to change the zones." : "");
    } else if (clicking && z) {
      hint(`Tap the map where “${z.name}” should go.`);
    } else if (z) {
      const turn = z.shape === "circle" ? "" : ", a corner to turn it";
      hint(`Drag “${z.name}” to move it${turn}, the square handle to resize it.`);
    }
  }

  function preflightPanel(w) {
    const card = $("preflight-card");
    card.hidden = w.status !== "stopped";
    if (card.hidden) return;
    const fails = w.preflight || [];
    const items = [];
    for (const z of w.zones || []) {
      if (z.placeable && !z.parent && z.placed && !fails.some((f) => f.includes(`"${z.name}"`))) {
        items.push({ ok: true, text: `Zone “${z.name}” placed (${Math.round(z.area).toLocaleString("en")} m²)` });
      }
    }
    const humans = (w.players || []).filter((p) => !p.bot).length;
    const bots = (w.players || []).length - humans;
    if (setup && !fails.some((f) => f.includes("players"))) {
      const who = bots ? `${humans} players and ${bots} bots` : `${humans} players`;
      items.push({ ok: true, text: `${who} (this game takes ${setup.minPlayers}–${setup.maxPlayers})` });
    }
    for (const f of fails) items.push({ ok: false, text: f.charAt(0).toUpperCase() + f.slice(1) });
    $("preflight").innerHTML = items.map((i) => `<li class="${i.ok ? "gm-pass" : "gm-fail"}">${PW.esc(i.text)}<span class="gm-sr">${i.ok ? " (done)" : " (to fix)"}</span></li>`).join("");
    const head = $("preflight-head");
    head.textContent = fails.length ? `Not ready: ${fails.length} ${fails.length === 1 ? "item" : "items"} to fix` : "Ready to start";
    head.className = `gm-preflight-head ${fails.length ? "gm-blocked" : "gm-ready"}`;
  }

  function playersPanel(w) {
    const humans = (w.players || []).filter((p) => !p.bot);
    const count = {};
    for (const p of humans) count[p.name] = (count[p.name] || 0) + 1;
    const ul = $("players");
    const seen = new Set();
    for (const p of humans) {
      seen.add(p.id);
      let li = rows.get(p.id);
      if (!li) { li = playerRow(p); rows.set(p.id, li); }
      ul.appendChild(li); // keeps join order, moves nothing that is already in place
      updateRow(li, p, count[p.name] > 1, w);
    }
    for (const [id, li] of rows) {
      if (!seen.has(id)) { li.remove(); rows.delete(id); }
    }
    const bots = (w.players || []).length - humans.length;
    $("player-count").textContent = `(${humans.length}${bots ? ` + ${bots} bots` : ""})`;
    $("players-empty").hidden = humans.length > 0;
  }

  function playerRow(p) {
    const li = document.createElement("li");
    li.className = "gm-player";
    li.dataset.playerId = p.id;
    li.innerHTML = `<details><summary><span class="pw-dot"></span><span class="gm-pname"></span><span class="gm-pid"></span><span class="gm-offline"></span><span class="gm-pstate"></span></summary>
      <div class="gm-pcontrols">
        <form class="gm-row gm-msg"><label class="gm-field">Message <input type="text" maxlength="500" name="text"></label><button type="submit">Send</button></form>
        <div class="gm-row gm-team"><label class="gm-field">Team <select name="team"></select></label><button type="button" class="gm-secondary">Move</button></div>
        <div class="gm-row gm-state"><label class="gm-field">State <select name="key"></select></label><label class="gm-field">Value <input type="text" name="value" maxlength="100"></label><button type="button" class="gm-secondary">Set</button></div>
        <div class="gm-row"><button type="button" class="gm-danger gm-kick">Remove from game</button></div>
      </div></details>`;
    const pid = p.id;
    li.querySelector(".gm-msg").addEventListener("submit", (e) => {
      e.preventDefault();
      const input = li.querySelector(".gm-msg input");
      const text = input.value.trim();
      if (!text) return;
      if (send({ type: "gm.message", playerId: pid, text })) {
        input.value = "";
        PW.toast($("toasts"), `Sent to ${names[pid] || pid}`);
      }
    });
    const teamSel = li.querySelector(".gm-team select");
    // A team picked but not yet moved to survives the worlds that arrive in between.
    teamSel.onchange = () => { teamSel.dataset.picked = teamSel.value; };
    li.querySelector(".gm-team button").onclick = () => {
      if (send({ type: "gm.team", playerId: pid, team: teamSel.value })) delete teamSel.dataset.picked;
    };
    const keySel = li.querySelector(".gm-state select");
    keySel.onchange = () => { const v = li.querySelector(".gm-state input"); v.value = show(li.pwState[keySel.value]); };
    li.querySelector(".gm-state button").onclick = () => {
      const key = keySel.value;
      send({ type: "gm.state", playerId: pid, key, value: parseValue(li.querySelector(".gm-state input").value, li.pwState[key]) });
    };
    li.querySelector(".gm-kick").onclick = () => {
      const name = names[pid] || pid;
      if (confirm(`Remove ${name} from the game? Their phone will not be able to rejoin this seat.`)) send({ type: "gm.kick", playerId: pid });
    };
    return li;
  }

  function show(v) {
    if (v === undefined || v === null) return "";
    return String(v);
  }

  function parseValue(text, current) {
    const t = text.trim();
    if (typeof current === "boolean") {
      if (/^(true|yes|1|on)$/i.test(t)) return true;
      if (/^(false|no|0|off)$/i.test(t)) return false;
    }
    if (typeof current === "number" && t !== "" && Number.isFinite(Number(t))) return Number(t);
    if (t === "" && current !== "") return null;
    return t;
  }

  function updateRow(li, p, duplicate, w) {
    li.pwState = p.state || {};
    li.querySelector(".pw-dot").style.background = p.colour || "#888";
    li.querySelector(".gm-pname").textContent = p.name;
    // The short id tells two similar names apart (and matches the log and the map).
    li.querySelector(".gm-pid").textContent = `#${p.id}`;
    li.classList.toggle("gm-dup", duplicate);
    const team = (w.teams || []).find((t) => t.id === p.team);
    const state = Object.entries(li.pwState).map(([k, v]) => `${k}: ${v === true ? "yes" : v === false ? "no" : v}`).join(" · ");
    const bits = [team ? team.name : "", p.eliminated ? "out" : "", p.lat === undefined ? "no position yet" : "", state].filter(Boolean);
    li.querySelector(".gm-pstate").textContent = bits.join(" · ");
    li.querySelector("summary").setAttribute("aria-label", `${p.name}${duplicate ? ` (${p.id})` : ""}: manage`);
    const msg = li.querySelector(".gm-msg input");
    msg.setAttribute("aria-label", `Message to ${p.name}`);
    msg.placeholder = `Shown on ${p.name}'s phone`;
    const ended = w.status === "ended";
    li.querySelectorAll(".gm-pcontrols input, .gm-pcontrols select, .gm-pcontrols button").forEach((el) => { el.disabled = !host || ended; });
    const teamRow = li.querySelector(".gm-team");
    teamRow.hidden = !(w.teams || []).length;
    const tsel = teamRow.querySelector("select");
    const tids = (w.teams || []).map((t) => t.id).join(",");
    if (tsel.dataset.ids !== tids) {
      tsel.innerHTML = (w.teams || []).map((t) => `<option value="${PW.esc(t.id)}">${PW.esc(t.name)}</option>`).join("");
      tsel.dataset.ids = tids;
    }
    if (tsel.dataset.picked && tsel.dataset.picked !== p.team) tsel.value = tsel.dataset.picked;
    else if (document.activeElement !== tsel) { delete tsel.dataset.picked; tsel.value = p.team || ""; }
    const keySel = li.querySelector(".gm-state select");
    const keys = Object.keys(li.pwState).join(",");
    if (keySel.dataset.keys !== keys) {
      const keep = keySel.value;
      keySel.innerHTML = Object.keys(li.pwState).map((k) => `<option value="${PW.esc(k)}">${PW.esc(k)}</option>`).join("");
      keySel.dataset.keys = keys;
      if (keep && keep in li.pwState) keySel.value = keep;
      li.querySelector(".gm-state input").value = show(li.pwState[keySel.value]);
    }
    li.querySelector(".gm-state").hidden = !keys;
  }

  function logPanel(w) {
    const ol = $("log");
    const log = w.log || [];
    const key = log.length ? `${log.length}:${log[log.length - 1].t}:${log[log.length - 1].text}` : "";
    if (ol.dataset.key === key) return;
    ol.dataset.key = key;
    ol.innerHTML = "";
    for (const e of log) {
      const li = document.createElement("li");
      const over = /^Game over \(([\w-]+)\)$/.exec(e.text); // the engine logs the reason code
      li.textContent = over ? `Game over: ${reasonText(over[1])}` : e.text;
      ol.appendChild(li);
    }
    ol.scrollTop = ol.scrollHeight;
  }

  function summary(w) {
    const r = w.result || {};
    forget();
    remember(w);
    $("summary").hidden = false;
    $("summary-reason").textContent = reasonText(r.reason);
    $("summary-winners").textContent = winnersText(r, w.teams);
    $("summary-duration").textContent = mmss(w.elapsedSeconds);
    const teams = Object.fromEntries((w.teams || []).map((t) => [t.id, t.name]));
    document.querySelector(".gm-scores").classList.toggle("gm-no-teams", !(w.teams || []).length);
    const byId = Object.fromEntries((w.players || []).map((p) => [p.id, p]));
    const winners = new Set(r.winners || []);
    const scores = Object.entries(r.scores || {}).sort((a, b) => (Number(b[1]) || 0) - (Number(a[1]) || 0));
    $("summary-scores").innerHTML = scores.map(([pid, s]) => {
      const p = byId[pid];
      const name = p ? p.name : names[pid] ? `${names[pid]} (removed)` : pid;
      const team = p && p.team ? teams[p.team] || p.team : "";
      const win = winners.has(pid) ? " gm-winner" : "";
      const mark = winners.has(pid) ? " <span aria-label=\"winner\">★</span>" : "";
      return `<tr class="${win.trim()}"><td>${PW.esc(name)}${mark}</td><td>${PW.esc(team)}</td><td class="gm-num">${PW.esc(String(s))}</td></tr>`;
    }).join("");
    hint("");
  }

  // --- zones on the map ----------------------------------------------------------------------

  function selectedZone() {
    if (!world) return null;
    return (world.zones || []).find((z) => z.id === $("zone-select").value) || null;
  }

  function zoneKey(w, id) {
    const z = (w.zones || []).find((q) => q.id === id);
    return z ? JSON.stringify([z.geometry, z.placement]) : "";
  }

  function canEdit() { return host && world && world.status === "stopped"; }

  function place(zoneId, lat, lng, rotation, scale) {
    if (!canEdit()) { say("Zones can only be placed while the game is stopped."); return; }
    armed = false;
    send({ type: "gm.place", zoneId, origin: { lat, lng }, rotation: norm(rotation), scale: Math.min(20, Math.max(0.05, scale)) });
  }

  function norm(deg) {
    let d = deg % 360;
    if (d > 180) d -= 360;
    if (d < -180) d += 360;
    return Math.round(d * 10) / 10;
  }

  function current(z) {
    const pl = z.placement || {};
    return { rotation: pl.rotation || parseFloat($("rotation").value) || 0, scale: pl.scale || parseFloat($("scale").value) || 1 };
  }

  function anchorOf(layer) {
    if (layer.getRadius) { const c = layer.getLatLng(); return [c.lat, c.lng]; }
    const pts = layer.getLatLngs()[0].map((ll) => [ll.lat, ll.lng]);
    return map.toLatLng(...PW.zoneAnchor(map, { geometry: { points: pts } }));
  }

  function bearing(from, to) {
    const [ax, ay] = map.toXY(...from), [bx, by] = map.toXY(...to);
    return Math.atan2(bx - ax, by - ay) * 180 / Math.PI; // clockwise from north
  }

  map.leaflet.on("click", (e) => {
    const z = selectedZone();
    if (!z || !canEdit() || !(armed || !z.placed)) return;
    const c = current(z);
    place(z.id, e.latlng.lat, e.latlng.lng, c.rotation, c.scale);
  });

  function detachEditor() {
    if (!editor) return;
    const { layer, handle } = editor;
    if (layer.pm) {
      layer.off("pm:dragstart pm:dragend pm:rotatestart pm:rotateend");
      try {
        if (layer.pm.layerDragEnabled && layer.pm.layerDragEnabled()) layer.pm.disableLayerDrag();
        if (layer.pm.rotateEnabled && layer.pm.rotateEnabled()) layer.pm.disableRotate();
      } catch (e) { /* the layer already left the map */ }
    }
    if (handle) handle.remove();
    editor = null;
  }

  function hold(z) {
    held = { id: z.id, key: zoneKey(world, z.id) };
    map.holdZone(z.id);
    setTimeout(() => { if (held && held.id === z.id) { held = null; map.holdZone(null); map.draw(); } }, 4000);
  }

  // Geoman moves and turns the zone's own layer; a square handle (Geoman's free edition has
  // no uniform scale) resizes it. Each gesture ends in one gm.place.
  function syncEditor() {
    const z = selectedZone();
    const layer = z && z.placed && canEdit() ? map.zoneLayers.get(z.id) : null;
    if (editor && (editor.layer !== layer || editor.zoneId !== (z && z.id))) {
      if (editor.busy && layer) return; // mid-gesture; the held layer stays
      detachEditor();
    }
    if (!layer || editor || !layer.pm) { if (editor) placeHandle(); return; }
    editor = { layer, zoneId: z.id, key: zoneKey(world, z.id), busy: false, handle: null };
    layer.pm.enableLayerDrag();
    layer.on("pm:dragstart", () => { editor.busy = true; hold(z); });
    layer.on("pm:dragend", () => {
      const zz = selectedZone();
      const c = current(zz);
      editor.busy = false;
      place(zz.id, ...anchorOf(layer), c.rotation, c.scale);
    });
    if (!layer.getRadius && layer.pm.enableRotate) {
      layer.pm.enableRotate();
      layer.on("pm:rotatestart", () => {
        editor.busy = true;
        hold(z);
        const pts = layer.getLatLngs()[0];
        editor.rot0 = bearing(anchorOf(layer), [pts[0].lat, pts[0].lng]);
      });
      layer.on("pm:rotateend", () => {
        const zz = selectedZone();
        const c = current(zz);
        const pts = layer.getLatLngs()[0];
        const turned = bearing(anchorOf(layer), [pts[0].lat, pts[0].lng]) - editor.rot0;
        editor.busy = false;
        place(zz.id, ...anchorOf(layer), c.rotation + turned, c.scale);
      });
    }
    placeHandle();
  }

  function handleSpot(layer) {
    const a = anchorOf(layer);
    if (layer.getRadius) {
      const [x, y] = map.toXY(...a);
      return { anchor: a, at: map.toLatLng(x + layer.getRadius(), y) };
    }
    // The east-most edge's middle: the corners belong to Geoman's rotation markers.
    const [ax] = map.toXY(...a);
    const pts = layer.getLatLngs()[0].map((ll) => map.toXY(ll.lat, ll.lng));
    let best = null, east = -Infinity;
    for (let i = 0; i < pts.length; i++) {
      const [x0, y0] = pts[i], [x1, y1] = pts[(i + 1) % pts.length];
      const mx = (x0 + x1) / 2, my = (y0 + y1) / 2;
      if (mx - ax > east) { east = mx - ax; best = map.toLatLng(mx, my); }
    }
    return { anchor: a, at: best };
  }

  function placeHandle() {
    if (!editor || editor.busy) return;
    const spot = handleSpot(editor.layer);
    if (!editor.handle) {
      const icon = L.divIcon({ className: "gm-scale-handle", html: "<span></span>", iconSize: [22, 22] });
      const h = L.marker(spot.at, { icon, draggable: true, keyboard: true, title: "Drag to resize the zone", zIndexOffset: 2000 });
      h.on("dragstart", () => {
        const zz = selectedZone();
        editor.busy = true;
        hold(zz);
        const s = handleSpot(editor.layer);
        const [ax, ay] = map.toXY(...s.anchor), [hx, hy] = map.toXY(...s.at);
        editor.scale0 = { anchor: s.anchor, d0: Math.max(0.5, Math.hypot(hx - ax, hy - ay)), radius: editor.layer.getRadius ? editor.layer.getRadius() : null, pts: editor.layer.getRadius ? null : editor.layer.getLatLngs()[0].map((ll) => map.toXY(ll.lat, ll.lng)) };
      });
      h.on("drag", () => {
        const s0 = editor.scale0;
        const ll = h.getLatLng();
        const [ax, ay] = map.toXY(...s0.anchor), [x, y] = map.toXY(ll.lat, ll.lng);
        const ratio = Math.max(0.05, Math.hypot(x - ax, y - ay) / s0.d0);
        editor.ratio = ratio;
        if (s0.radius !== null) editor.layer.setRadius(s0.radius * ratio);
        else editor.layer.setLatLngs(s0.pts.map(([px, py]) => map.toLatLng(ax + (px - ax) * ratio, ay + (py - ay) * ratio)));
      });
      h.on("dragend", () => {
        const zz = selectedZone();
        const c = current(zz);
        editor.busy = false;
        place(zz.id, ...editor.scale0.anchor, c.rotation, c.scale * (editor.ratio || 1));
      });
      h.addTo(map.leaflet);
      editor.handle = h;
    } else {
      editor.handle.setLatLng(spot.at);
    }
  }

  // --- the GM's own position -----------------------------------------------------------------

  if (navigator.geolocation) {
    navigator.geolocation.watchPosition((p) => {
      gmPos = [p.coords.latitude, p.coords.longitude];
      map.setOwnPosition(gmPos[0], gmPos[1], p.coords.accuracy);
    }, () => { gmPos = null; }, { enableHighAccuracy: true, maximumAge: 5000 });
  }

  // --- controls ------------------------------------------------------------------------------

  $("zone-select").onchange = () => { armed = false; detachEditor(); if (world) onWorld(world); };
  $("place-click").onclick = () => { armed = !armed; if (world) onWorld(world); };
  $("place-me").onclick = () => {
    const z = selectedZone();
    if (!z) return;
    if (!gmPos) { say("Your position is not known: allow location for this page, or tap the map instead."); return; }
    const c = current(z);
    place(z.id, gmPos[0], gmPos[1], c.rotation, c.scale);
  };
  $("place-here").onclick = () => {
    const z = selectedZone();
    const c = map.centerLatLng();
    if (!z) return;
    if (!c) { say("The map has no position yet: tap the map, or allow location."); return; }
    const cur = current(z);
    place(z.id, c[0], c[1], cur.rotation, cur.scale);
  };
  $("place-apply").onclick = () => {
    const z = selectedZone();
    if (!z || !z.geometry) return;
    const [lat, lng] = map.toLatLng(...PW.zoneAnchor(map, z));
    place(z.id, lat, lng, parseFloat($("rotation").value) || 0, parseFloat($("scale").value) || 1);
  };
  $("start").onclick = () => { say(""); send({ type: "gm.start" }); };
  $("pause").onclick = () => send({ type: "gm.stop" });
  $("end").onclick = () => { if (confirm("End the game for everyone?")) send({ type: "gm.end" }); };
  $("leave").onclick = () => {
    if (world && world.status !== "ended" && !confirm("Leave this game running and host another? You can come back with its link.")) return;
    leave("");
  };
  $("summary-new").onclick = () => leave("");
  function spawnAt(at, what) {
    if (!at) { say(what); return; }
    send({ type: "gm.spawn", kind: $("item-kind").value, at: { lat: at[0], lng: at[1] } });
  }
  $("spawn").onclick = () => spawnAt(map.centerLatLng(), "The map has no position yet.");
  $("spawn-me").onclick = () => spawnAt(gmPos, "Your position is not known: allow location for this page.");

  loadLibrary();
  showLastResult();
  if (cfg.code) open(cfg.code, null, false);
  else if (localStorage.getItem(KEY)) open(localStorage.getItem(KEY), null, true);
})();
