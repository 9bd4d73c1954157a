// PlayWave games: the player page. Joins with code and name, streams the phone's position,
// shows what the player may see, and rejoins by itself with the stored token.
"use strict";

(function () {
  const cfg = JSON.parse(document.getElementById("pw-config").textContent);
  const $ = (id) => document.getElementById(id);
  const map = new PW.PWMap($("map"), { tileUrl: cfg.tileUrl, tileAttribution: cfg.tileAttribution, viewer: true });
  let sock = null, joinMsg = null, code = "", playerId = null, over = false, lastPos = null, sentAt = 0;
  let watchId = null, keepAlive = null, world = null, replaced = false, updates = 0;
  const NOTICE_MS = 8000; // refusals stay this long unless dismissed (at least 4 s to read)
  const NOTE_MS = 10000; // claim answers

  // Saved seats: {token, name} per code. "pw.token.<CODE>" is the older form (token only).
  const seatKey = (c) => `pw.seat.${c}`;
  const nameKey = "pw.name";

  function savedSeat(c) {
    try {
      const s = JSON.parse(localStorage.getItem(seatKey(c)) || "null");
      if (s && s.token) return s;
    } catch (e) { /* a damaged entry is no seat */ }
    const old = localStorage.getItem(`pw.token.${c}`);
    return old ? { token: old, name: "" } : null;
  }

  function saveSeat(c, token, name) {
    localStorage.setItem(seatKey(c), JSON.stringify({ token, name }));
    localStorage.removeItem(`pw.token.${c}`);
  }

  function forgetSeat(c) {
    localStorage.removeItem(seatKey(c));
    localStorage.removeItem(`pw.token.${c}`);
  }

  function show(which) {
    $("join-screen").hidden = which !== "join";
    $("game").hidden = which !== "game";
    $("gameover").hidden = which !== "over";
    if (which === "game") map.invalidate(); // sized now that the section is visible
    if (which !== "game") countdown.stop();
  }

  // --- notices: errors and refusals stay until dismissed or NOTICE_MS -----------------------

  function notify(text, opts) {
    opts = opts || {};
    const box = $("notices");
    const key = opts.key || text;
    for (const el of box.children) {
      if (el.dataset.key === key) el.remove(); // the same refusal again: show it afresh
    }
    const el = document.createElement("div");
    el.className = "pw-notice";
    el.dataset.kind = opts.kind || "error";
    el.dataset.key = key;
    el.setAttribute("role", opts.kind === "info" ? "status" : "alert");
    const span = document.createElement("span");
    span.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Dismiss";
    close.setAttribute("aria-label", `Dismiss: ${text}`);
    close.onclick = () => el.remove();
    el.append(span, close);
    box.appendChild(el);
    if (opts.ms !== 0) setTimeout(() => el.remove(), opts.ms || NOTICE_MS);
    return el;
  }

  function clearNotice(key) {
    for (const el of [...$("notices").children]) if (el.dataset.key === key) el.remove();
  }

  // --- socket ------------------------------------------------------------------------------

  const CLOSE = PWSocket.CLOSE;
  const chat = PW.chat({ log: $("chat-log"), form: $("chat-form"), input: $("chat-text"), send, reveal: true });

  function send(msg) {
    return !!sock && sock.send(msg);
  }

  // One socket per code; a reconnect sends the join of the moment (the stored seat).
  function connect(c, join) {
    code = c.toUpperCase();
    joinMsg = join;
    const path = `${cfg.wsPath}${code}/`;
    if (sock && sock.path === path) { sock.reopen(); return; }
    if (sock) sock.stop();
    sock = PWSocket.open(path, {
      onOpen: (s) => s.send(joinMsg),
      onMessage,
      onClose,
      onRetry: () => { if (!replaced) rejoin(); },
    });
  }

  function rejoin() {
    const seat = savedSeat(code);
    if (seat) connect(code, { type: "join", name: seat.name || "", token: seat.token });
  }

  function onMessage(m) {
    switch (m.type) {
      case "welcome":
        sock.settled();
        replaced = false;
        $("replaced").hidden = true;
        clearNotice("connection");
        playerId = m.playerId;
        saveSeat(code, m.token, (m.world.you && m.world.you.name) || $("name").value.trim());
        $("game").dataset.playerId = m.playerId;
        $("game-code").textContent = code;
        history.replaceState(null, "", `${cfg.playUrl}${code}/`);
        show("game");
        startGps();
        onWorld(m.world);
        break;
      case "world": onWorld(m.world); break;
      case "chat_history": chat.replace(m.messages); break;
      case "chat": chat.add(m.message); break;
      case "event": onEvent(m.event); break;
      case "error": onError(m); break;
      default: break;
    }
  }

  function onError(m) {
    if (m.code === "bad_token") {
      // The seat is gone (the game was restarted without it): join by name instead.
      forgetSeat(code);
      const name = $("name").value.trim();
      if (name) send({ type: "join", name });
      else { show("join"); $("join-error").textContent = "Your saved seat is gone. Enter your name to join again."; }
      return;
    }
    if (m.code === "replaced") return; // the close (4409) that follows says it
    if (!playerId) { $("join-error").textContent = m.message; return; }
    notify(sentence(m.message));
  }

  // Whether to reconnect (after the back-off) once the socket closed with code `c`.
  function onClose(c) {
    if (c === CLOSE.GAME_OVER || over) { over = true; stopGps(); return false; }
    if (c === CLOSE.KICKED || c === CLOSE.UNKNOWN_CODE || c === CLOSE.REAPED) {
      forgetSeat(code);
      stopGps();
      playerId = null;
      show("join");
      $("join-error").textContent = {
        [CLOSE.KICKED]: "The game master removed you from this game.",
        [CLOSE.UNKNOWN_CODE]: "No live game has this code.",
        [CLOSE.REAPED]: "This game was closed.",
      }[c];
      return false;
    }
    if (c === CLOSE.REPLACED) {
      // Another tab or phone took this seat with the same token: say so, and offer it back.
      replaced = true;
      stopGps();
      countdown.stop();
      $("replaced").hidden = false;
      $("take-back").focus();
      return false;
    }
    if (!playerId && !savedSeat(code)) return false;
    // A drop (phone asleep, network switch): rejoin the same seat with the stored token.
    notify("Connection lost. Reconnecting…", { kind: "info", key: "connection", ms: 0 });
    return true;
  }

  // --- the world ---------------------------------------------------------------------------

  function onWorld(w) {
    world = w;
    updates += 1;
    $("game").dataset.updates = updates; // world frames received (the page's own heartbeat)
    map.setWorld(w);
    const you = w.you || {};
    $("you").textContent = you.name ? `${you.name}${you.label ? " · " + you.label : ""}` : "";
    $("status").textContent = STATUS[w.status] || w.status;
    $("status").dataset.status = w.status;
    $("remaining").textContent = w.remainingSeconds != null ? `${PW.fmtTime(w.remainingSeconds)} left` : "";
    countdown.setPaused(w.status !== "started");
    const o = w.objective;
    let text = o ? o.text : "";
    if (o && o.target && o.target.distance != null) text += ` (${Math.round(o.target.distance)} m)`;
    $("objective").textContent = text;
    renderActions(w);
    claims.sync(w);
    if (w.result) showGameOver(w.result);
  }

  const STATUS = { stopped: "Waiting", started: "Playing", ended: "Over" };

  function renderActions(w) {
    const box = $("actions");
    const keep = document.activeElement && box.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    box.innerHTML = "";
    for (const a of w.actions || []) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "pw-action";
      b.dataset.key = `${a.actionId}:${a.targetId}`;
      const pending = claims.waitingFor(a.actionId, a.targetId);
      b.textContent = pending ? `Waiting for ${a.targetName}…` : `${a.label} ${a.targetName}`;
      b.disabled = pending;
      b.onclick = () => send({ type: "action", actionId: a.actionId, payload: { targetId: a.targetId } });
      box.appendChild(b);
      if (keep === b.dataset.key) b.focus();
    }
  }

  function nameOf(id) {
    const p = ((world && world.players) || []).find((q) => q.id === id);
    return p ? p.name : "";
  }

  // --- claims (mutual interactions: the target confirms or denies) -------------------------

  const claims = (() => {
    const incoming = new Map(); // claimId -> {el, fromName, label, expiresAt, answered}
    const outgoing = new Map(); // claimId -> {actionId, to, toName, expiresAt, el}
    const done = new Set(); // claims answered here: a world sent before the answer landed must not ask again
    let timer = null;

    function secondsLeft(at) { return Math.max(0, Math.ceil((at - Date.now()) / 1000)); }

    function tickAll() {
      const paused = world && world.status !== "started";
      for (const c of incoming.values()) {
        if (paused) c.expiresAt += 1000;
        const s = c.el.querySelector(".pw-claim-left");
        if (s) s.textContent = `${secondsLeft(c.expiresAt)} s left to answer`;
      }
      for (const c of outgoing.values()) {
        if (paused) c.expiresAt += 1000;
        c.el.textContent = `Waiting for ${c.toName} to confirm… (${secondsLeft(c.expiresAt)} s)`;
      }
      if (!incoming.size && !outgoing.size) { clearInterval(timer); timer = null; }
    }

    function run() { if (!timer) timer = setInterval(tickAll, 1000); tickAll(); }

    function note(text, state) {
      const el = document.createElement("p");
      el.className = "pw-claim-note";
      el.dataset.state = state;
      el.setAttribute("role", "status");
      el.textContent = text;
      $("claim-status").appendChild(el);
      setTimeout(() => el.remove(), NOTE_MS);
    }

    function ask(ev) {
      if (incoming.has(ev.claimId) || done.has(ev.claimId)) return;
      const el = document.createElement("div");
      el.className = "pw-claim";
      el.setAttribute("role", "alertdialog");
      el.setAttribute("aria-labelledby", `claim-${ev.claimId}`);
      el.dataset.claimId = ev.claimId;
      const label = ev.label || ev.verb || ev.actionId;
      el.innerHTML = `<p id="claim-${PW.esc(ev.claimId)}">${PW.esc(ev.fromName)} says: “${PW.esc(label)}” on you. Is that right?</p>`
        + `<p class="pw-claim-left" aria-live="off"></p><div class="pw-buttons"></div>`;
      const row = el.querySelector(".pw-buttons");
      for (const [answer, text, cls] of [["confirm", "Confirm", "pw-confirm"], ["deny", "Deny", "pw-deny"]]) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = cls;
        b.textContent = text;
        b.setAttribute("aria-label", `${text} ${ev.fromName}'s claim: ${label}`);
        b.onclick = () => answer === "confirm" ? reply(ev.claimId, "confirm") : reply(ev.claimId, "deny");
        row.appendChild(b);
      }
      $("claims").appendChild(el);
      incoming.set(ev.claimId, { el, fromName: ev.fromName, label, expiresAt: Date.now() + (ev.expiresIn || 0) * 1000 });
      if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
      el.querySelector("button").focus();
      run();
    }

    function reply(id, answer) {
      const c = incoming.get(id);
      if (!c) return;
      send({ type: "action", actionId: answer, payload: { claimId: id } });
      c.el.remove();
      incoming.delete(id);
      done.add(id);
      note(answer === "confirm" ? `You confirmed ${c.fromName}'s claim (${c.label}).` : `You denied ${c.fromName}'s claim (${c.label}).`,
        answer === "confirm" ? "confirmed" : "denied");
    }

    function sent(ev) {
      const el = document.createElement("p");
      el.className = "pw-claim-note";
      el.dataset.state = "waiting";
      el.setAttribute("role", "status");
      $("claim-status").appendChild(el);
      // The claim's timeout is not in claim_sent; the target's snapshot has it, ours does not.
      outgoing.set(ev.claimId, { actionId: ev.actionId, to: ev.to, toName: ev.toName, el, expiresAt: Date.now() + (ev.expiresIn || 20) * 1000 });
      run();
      if (world) renderActions(world);
    }

    function answered(ev, state) {
      const c = outgoing.get(ev.claimId);
      const inc = incoming.get(ev.claimId);
      if (c) {
        c.el.remove();
        outgoing.delete(ev.claimId);
        const who = c.toName || nameOf(ev.by);
        const text = {
          confirmed: `${who} confirmed. It counts!`,
          denied: `${who} denied your claim.`,
          expired: `No answer from ${who}: your claim expired.`,
          failed: `Too late: you were no longer in range when ${who} confirmed.`,
        }[state];
        note(text, state);
        if (world) renderActions(world);
      } else if (inc && state === "expired") {
        inc.el.remove();
        incoming.delete(ev.claimId);
        note(`${inc.fromName}'s claim expired before you answered.`, "expired");
      }
    }

    // The snapshot lists the claims waiting for me: resync their countdowns, drop stale ones.
    function sync(w) {
      const live = new Set();
      for (const c of w.claims || []) {
        live.add(c.claimId);
        if (!incoming.has(c.claimId)) ask({ ...c, fromName: c.fromName });
        else if (w.status === "started") incoming.get(c.claimId).expiresAt = Date.now() + c.expiresIn * 1000;
      }
      for (const [id, c] of incoming) {
        if (!live.has(id)) { c.el.remove(); incoming.delete(id); }
      }
      if (w.status === "ended") {
        for (const c of outgoing.values()) c.el.remove();
        outgoing.clear();
      }
    }

    function waitingFor(actionId, targetId) {
      for (const c of outgoing.values()) if (c.actionId === actionId && c.to === targetId) return true;
      return false;
    }

    return { ask, sent, answered, sync, waitingFor };
  })();

  // --- events --------------------------------------------------------------------------------

  function onEvent(ev) {
    switch (ev.type) {
      case "countdown": countdown.start(ev.seconds || 3, ev.text); return;
      case "game_over": showGameOver(ev); return;
      case "closed": notify(ev.text, { kind: "info", ms: 0 }); return;
      case "gm_message": notify(`Game master: ${ev.text}`, { kind: "info", ms: 0 }); return; // stays until dismissed
      case "claim": claims.ask(ev); return;
      case "claim_sent": claims.sent(ev); return;
      case "claim_confirmed": claims.answered(ev, "confirmed"); return;
      case "claim_denied": claims.answered(ev, "denied"); return;
      case "claim_expired": claims.answered(ev, "expired"); return;
      case "claim_failed": claims.answered(ev, "failed"); return;
      default: if (ev.text) PW.toast($("toasts"), ev.text); return;
    }
  }

  // The 3-2-1 overlay: counts down once a second, freezes while the game is paused, shows its
  // closing word briefly and is gone (hidden) when done or when the game ends.
  const countdown = (() => {
    let left = 0, text = "", timer = null, paused = false, done = null;
    const el = () => $("countdown");

    function render() { el().textContent = left > 0 ? String(left) : (text || "Go!"); }

    function step() {
      timer = null;
      if (paused) return;
      left -= 1;
      render();
      if (left > 0) timer = setTimeout(step, 1000);
      else done = setTimeout(stop, 1000);
    }

    function start(seconds, closing) {
      stop();
      left = Math.max(1, Math.round(seconds));
      text = closing || "";
      el().hidden = false;
      render();
      if (!paused) timer = setTimeout(step, 1000);
    }

    function stop() {
      clearTimeout(timer); clearTimeout(done);
      timer = done = null;
      left = 0;
      el().hidden = true;
      el().textContent = "";
    }

    function setPaused(p) {
      if (p === paused) return;
      paused = p;
      if (el().hidden) return;
      if (paused) {
        clearTimeout(timer); timer = null;
        el().dataset.paused = "1";
      } else {
        delete el().dataset.paused;
        if (left > 0 && !timer) timer = setTimeout(step, 1000);
      }
    }

    return { start, stop, setPaused };
  })();

  // --- game over -----------------------------------------------------------------------------

  const REASONS = {
    gm: "The game master ended the game.",
    time_up: "Time is up.",
    elimination: "Only one side is left standing.",
    last_standing: "Last one standing.",
    three_captures: "Three captures: the match is decided.",
    all_frozen: "Everyone is frozen.",
    crowned: "The hill has a king.",
    all_infected: "Everyone has been infected.",
    survivors: "The survivors held out.",
    end_game: "The game is over.",
  };

  function reasonText(reason) {
    if (REASONS[reason]) return REASONS[reason];
    const s = String(reason || "The game is over").replace(/_/g, " ");
    return `${s.charAt(0).toUpperCase()}${s.slice(1)}.`;
  }

  function sentence(s) {
    s = String(s || "");
    return s ? `${s.charAt(0).toUpperCase()}${s.slice(1)}` : s;
  }

  function showGameOver(r) {
    over = true;
    stopGps();
    countdown.stop();
    const played = world && world.elapsedSeconds != null ? ` Played for ${PW.fmtTime(world.elapsedSeconds)}.` : "";
    $("gameover-reason").textContent = `${reasonText(r.reason)}${played}`;
    const teams = {};
    for (const t of (world && world.teams) || []) teams[t.id] = t.name;
    const wn = r.winnerNames || [];
    const wt = (r.winnerTeams || []).map((t) => teams[t] || t);
    const winners = wt.length ? `Team ${wt.join(", ")}${wn.length ? ` (${wn.join(", ")})` : ""}` : wn.join(", ");
    const mine = (r.winners || []).includes(playerId);
    $("gameover-winners").textContent = winners ? `${mine ? "You won! " : ""}Winners: ${winners}` : "No winners this time.";
    const ol = $("scores");
    ol.innerHTML = "";
    const names = {};
    for (const p of (world && world.players) || []) names[p.id] = p.name;
    const rows = Object.entries(r.scores || {}).sort((a, b) => Number(b[1]) - Number(a[1]));
    for (const [pid, score] of rows) {
      const li = document.createElement("li");
      li.textContent = `${names[pid] || pid}: ${score}${pid === playerId ? " (you)" : ""}`;
      if (pid === playerId) li.className = "pw-me";
      ol.appendChild(li);
    }
    forgetSeat(code);
    show("over");
  }

  // --- GPS -----------------------------------------------------------------------------------

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
        map.setOwnPosition(pos.coords.latitude, pos.coords.longitude, pos.coords.accuracy || 0);
        sendPosition(false);
      },
      (err) => { $("gps").textContent = `No location: ${err.message}`; },
      { enableHighAccuracy: true, maximumAge: 1000, timeout: 20000 },
    );
    // Keep the server fresh even when the phone reports no movement.
    if (!keepAlive) keepAlive = setInterval(() => sendPosition(true), 3000);
  }

  function stopGps() {
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    watchId = null;
    clearInterval(keepAlive);
    keepAlive = null;
  }

  // --- the join form -------------------------------------------------------------------------

  function join(c, name) {
    localStorage.setItem(nameKey, name);
    over = false;
    $("seat-offer").hidden = true;
    connect(c, { type: "join", name });
  }

  $("join-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const c = $("code").value.trim().toUpperCase();
    const name = $("name").value.trim();
    $("join-error").textContent = "";
    $("seat-offer").hidden = true;
    if (!/^[A-Z]{4}$/.test(c)) { $("join-error").textContent = "A code is four letters."; $("code").focus(); return; }
    const seat = savedSeat(c);
    if (seat && (!name || !seat.name || name.toLowerCase() === seat.name.toLowerCase())) {
      over = false;
      connect(c, { type: "join", name: seat.name || name, token: seat.token });
      return;
    }
    if (!name) { $("join-error").textContent = "Enter your name."; $("name").focus(); return; }
    if (seat) {
      // This phone already has a seat here under another name: offer it, never force it.
      $("seat-offer-text").textContent = `This phone already plays in ${c} as ${seat.name}. Go back to that seat, or join as a new player named ${name}?`;
      $("seat-rejoin").textContent = `Rejoin as ${seat.name}`;
      $("seat-new").textContent = `Join as ${name}`;
      $("seat-rejoin").onclick = () => { $("name").value = seat.name; over = false; $("seat-offer").hidden = true; connect(c, { type: "join", name: seat.name, token: seat.token }); };
      $("seat-new").onclick = () => join(c, name);
      $("seat-offer").hidden = false;
      $("seat-rejoin").focus();
      return;
    }
    join(c, name);
  });
  $("take-back").addEventListener("click", () => { $("replaced").hidden = true; replaced = false; rejoin(); });

  $("name").value = localStorage.getItem(nameKey) || "";
  if (cfg.code) {
    $("code").value = cfg.code;
    code = cfg.code;
    // Back on the page with a stored token: rejoin the same seat by itself.
    const seat = savedSeat(cfg.code);
    if (seat) { if (seat.name) $("name").value = seat.name; rejoin(); }
  }
})();
