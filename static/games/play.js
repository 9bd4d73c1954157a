// PlayWave games: the player page. Joins with code and name, streams the phone's position,
// shows what the player may see, and rejoins by itself with the stored token.
"use strict";

(function () {
  const cfg = JSON.parse(document.getElementById("pw-config").textContent);
  const $ = (id) => document.getElementById(id);
  const map = new PW.PWMap($("map"), { tileUrl: cfg.tileUrl });
  let ws = null, code = "", playerId = null, over = false, retry = 0, lastPos = null, sentAt = 0;
  let countdownTimer = null, watchId = null;

  const tokenKey = (c) => `pw.token.${c}`;
  const nameKey = "pw.name";

  function show(which) {
    $("join-screen").hidden = which !== "join";
    $("game").hidden = which !== "game";
    $("gameover").hidden = which !== "over";
  }

  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  function connect(c, name) {
    code = c.toUpperCase();
    const token = localStorage.getItem(tokenKey(code));
    ws = new WebSocket(PW.wsUrl(`${cfg.wsPath}${code}/`));
    ws.onopen = () => send(token ? { type: "join", name: name || "", token } : { type: "join", name });
    ws.onmessage = (e) => onMessage(JSON.parse(e.data));
    ws.onclose = (e) => onClose(e.code);
  }

  function onMessage(m) {
    switch (m.type) {
      case "welcome":
        retry = 0;
        playerId = m.playerId;
        localStorage.setItem(tokenKey(code), m.token);
        $("game").dataset.playerId = m.playerId;
        $("game-code").textContent = code;
        history.replaceState(null, "", `${cfg.playUrl}${code}/`);
        show("game");
        startGps();
        onWorld(m.world);
        break;
      case "world": onWorld(m.world); break;
      case "chat_history": $("chat-log").innerHTML = ""; m.messages.forEach(addChat); break;
      case "chat": addChat(m.message); break;
      case "event": onEvent(m.event); break;
      case "error": onError(m); break;
      default: break;
    }
  }

  function onError(m) {
    if (m.code === "bad_token") {
      localStorage.removeItem(tokenKey(code));
      send({ type: "join", name: $("name").value.trim() });
      return;
    }
    if (!playerId) $("join-error").textContent = m.message;
    else $("message").textContent = m.message;
  }

  function onClose(c) {
    ws = null;
    if (c === 4000 || over) { over = true; stopGps(); return; }
    if (c === 4404 || c === 4410) {
      localStorage.removeItem(tokenKey(code));
      stopGps();
      playerId = null;
      show("join");
      $("join-error").textContent = c === 4404 ? "No live game has this code." : "This game was closed.";
      return;
    }
    if (c === 4409) { $("message").textContent = "You joined from another tab or phone."; return; }
    if (!playerId && !localStorage.getItem(tokenKey(code))) return;
    // A drop (phone asleep, network switch): rejoin the same seat with the stored token.
    const delay = Math.min(10000, 500 * 2 ** retry++);
    $("message").textContent = "Reconnecting…";
    setTimeout(() => connect(code, $("name").value.trim()), delay);
  }

  function onWorld(w) {
    map.setWorld(w);
    $("message").textContent = "";
    const you = w.you || {};
    $("you").textContent = you.name ? `${you.name}${you.label ? " · " + you.label : ""}` : "";
    $("status").textContent = w.status;
    $("status").dataset.status = w.status;
    $("remaining").textContent = w.remainingSeconds != null ? PW.fmtTime(w.remainingSeconds) : "";
    const o = w.objective;
    let text = o ? o.text : "";
    if (o && o.target && o.target.distance != null) text += ` (${Math.round(o.target.distance)} m)`;
    $("objective").textContent = text;
    const actions = $("actions");
    actions.innerHTML = "";
    for (const a of w.actions || []) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "pw-action";
      b.textContent = `${a.label} ${a.targetName}`;
      b.onclick = () => send({ type: "action", actionId: a.actionId, payload: { targetId: a.targetId } });
      actions.appendChild(b);
    }
    const claims = $("claims");
    claims.innerHTML = "";
    for (const c of w.claims || []) {
      for (const [id, label] of [["confirm", "Confirm"], ["deny", "Deny"]]) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = `${label}: ${c.fromName} – ${c.label}`;
        b.onclick = () => send({ type: "action", actionId: id, payload: { claimId: c.claimId } });
        claims.appendChild(b);
      }
    }
    if (w.result) showGameOver(w.result);
  }

  function onEvent(ev) {
    if (ev.type === "countdown") return countdown(ev.seconds || 3, ev.text);
    if (ev.type === "game_over") return showGameOver(ev);
    if (ev.type === "closed") { $("message").textContent = ev.text; return; }
    if (ev.text) PW.toast($("toasts"), ev.text);
  }

  function countdown(seconds, text) {
    const el = $("countdown");
    let n = Math.round(seconds);
    clearInterval(countdownTimer);
    el.hidden = false;
    el.textContent = n;
    countdownTimer = setInterval(() => {
      n -= 1;
      if (n > 0) { el.textContent = n; return; }
      el.textContent = text || "Go!";
      clearInterval(countdownTimer);
      setTimeout(() => { el.hidden = true; }, 900);
    }, 1000);
  }

  function showGameOver(r) {
    over = true;
    stopGps();
    $("gameover-reason").textContent = `Reason: ${String(r.reason).replace(/_/g, " ")}`;
    const wn = r.winnerNames || [];
    const winners = wn.length ? wn.join(", ") : (r.winnerTeams || []).join(", ");
    $("gameover-winners").textContent = winners ? `Winners: ${winners}` : "No winners";
    const ol = $("scores");
    ol.innerHTML = "";
    const names = {};
    for (const p of (map.world && map.world.players) || []) names[p.id] = p.name;
    const rows = Object.entries(r.scores || {}).sort((a, b) => Number(b[1]) - Number(a[1]));
    for (const [pid, score] of rows) {
      const li = document.createElement("li");
      li.textContent = `${names[pid] || pid}: ${score}`;
      if (pid === playerId) li.className = "pw-me";
      ol.appendChild(li);
    }
    localStorage.removeItem(tokenKey(code));
    show("over");
  }

  function addChat(m) {
    const li = document.createElement("li");
    li.innerHTML = `<b>${PW.esc(m.name)}</b> ${PW.esc(m.text)}`;
    $("chat-log").appendChild(li);
    li.scrollIntoView({ block: "nearest" });
  }

  function sendPosition(force) {
    if (!lastPos) return;
    const now = Date.now();
    if (!force && now - sentAt < 1000) return;
    sentAt = now;
    const c = lastPos.coords;
    const msg = { type: "location", lat: c.latitude, lng: c.longitude, ts: lastPos.timestamp || now };
    if (c.accuracy != null) msg.accuracy = Math.min(c.accuracy, 1e6);
    if (c.heading != null && !Number.isNaN(c.heading)) msg.heading = c.heading;
    send(msg);
  }

  function startGps() {
    if (watchId !== null || !navigator.geolocation) return;
    watchId = navigator.geolocation.watchPosition(
      (pos) => {
        lastPos = pos;
        $("gps").textContent = `GPS ±${Math.round(pos.coords.accuracy || 0)} m`;
        map.setCenter(pos.coords.latitude, pos.coords.longitude);
        sendPosition(false);
      },
      (err) => { $("gps").textContent = `No location: ${err.message}`; },
      { enableHighAccuracy: true, maximumAge: 1000, timeout: 20000 },
    );
    // Keep the server fresh even when the phone reports no movement.
    setInterval(() => sendPosition(true), 3000);
  }

  function stopGps() {
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    watchId = null;
  }

  $("join-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const c = $("code").value.trim().toUpperCase();
    const name = $("name").value.trim();
    $("join-error").textContent = "";
    if (!/^[A-Z]{4}$/.test(c)) { $("join-error").textContent = "A code is four letters."; return; }
    if (!name && !localStorage.getItem(tokenKey(c))) { $("join-error").textContent = "Enter your name."; return; }
    localStorage.setItem(nameKey, name);
    over = false;
    connect(c, name);
  });
  $("chat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const t = $("chat-text").value.trim();
    if (t) send({ type: "chat", text: t });
    $("chat-text").value = "";
  });
  document.querySelectorAll("[data-zoom]").forEach((b) => {
    b.addEventListener("click", () => map.zoom(parseFloat(b.dataset.zoom)));
  });
  window.addEventListener("resize", () => map.draw());

  $("name").value = localStorage.getItem(nameKey) || "";
  if (cfg.code) {
    $("code").value = cfg.code;
    // Back on the page with a stored token: rejoin the same seat by itself.
    if (localStorage.getItem(tokenKey(cfg.code))) connect(cfg.code, $("name").value);
  }
})();
