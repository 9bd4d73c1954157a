// Live sessions dashboard: a snapshot on connect, then numbered updates; a gap in the
// numbers or a dropped socket leads to a fresh snapshot.
(function () {
  "use strict";
  const root = document.getElementById("pw-dashboard");
  const PAGE_SIZE = 50;
  const COLOURS = {
    normal: "#2e7d32", server_shutdown: "#607d8b", heartbeat_timeout: "#c62828",
    session_replace: "#6a1b9a", launcher_timeout: "#ef6c00", launcher_closed: "#f9a825",
    charge_exhausted: "#1565c0",
  };
  let socket = null;
  let lastSeq = null;
  let retry = 500;
  let table = { rows: [], page: 1, pages: 1, total: 0 };
  let query = { search: "", state: "", game: "", cafe: "", reason: "", page: 1 };

  const $ = (id) => document.getElementById(id);
  const text = (value) => document.createTextNode(value === null || value === undefined ? "" : String(value));

  function setConnected(up) {
    const badge = $("pw-conn");
    badge.textContent = up ? "live" : "reconnecting…";
    badge.className = "pw-conn " + (up ? "pw-up" : "pw-down");
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + root.dataset.wsPath);
    socket.onopen = () => { retry = 500; setConnected(true); };
    socket.onclose = () => {
      setConnected(false);
      lastSeq = null;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
    socket.onmessage = (message) => handle(JSON.parse(message.data));
  }

  function send(payload) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(payload));
  }

  function handle(msg) {
    if (msg.type === "snapshot") {
      lastSeq = msg.seq;
      renderTotals(msg.totals);
      table = msg.table;
      renderTable();
      renderEnds(msg.ends_per_minute);
      renderHeartbeats(msg.heartbeats_per_minute);
      renderGames(msg.games);
      if (query.search || query.state || query.game || query.cafe || query.reason || query.page > 1) {
        send(Object.assign({ type: "query" }, query));
      }
    } else if (msg.type === "update") {
      if (lastSeq === null || msg.seq <= lastSeq) return;
      if (msg.seq !== lastSeq + 1) { lastSeq = null; send({ type: "resync" }); return; }
      lastSeq = msg.seq;
      renderTotals(msg.totals);
      applyChanges(msg.changed);
      renderHeartbeats(msg.heartbeats_per_minute);
      if (msg.ends_per_minute) renderEnds(msg.ends_per_minute);
      renderGames(msg.games);
    } else if (msg.type === "table") {
      table = msg.table;
      renderTable();
    } else if (msg.type === "error") {
      console.warn("dashboard:", msg.message);
    }
    $("pw-seq").textContent = lastSeq === null ? "" : "update #" + lastSeq;
  }

  function matches(row) {
    if (query.search) return false; // searches are answered by the server only
    if (query.state && row.state !== query.state) return false;
    if (query.game && row.game !== query.game) return false;
    if (query.cafe && String(row.cafe_id) !== String(query.cafe)) return false;
    if (query.reason && row.end_reason !== query.reason) return false;
    return true;
  }

  function applyChanges(changed) {
    let dirty = false;
    for (const row of changed) {
      const index = table.rows.findIndex((r) => r.id === row.id);
      if (index >= 0) {
        if (matches(row) || query.search) table.rows[index] = row;
        else { table.rows.splice(index, 1); table.total -= 1; }
        dirty = true;
      } else if (table.page === 1 && matches(row)) {
        // Rows can arrive out of order (several writers); keep page 1 sorted, newest first.
        table.rows.push(row);
        table.total += 1;
        dirty = true;
      }
    }
    if (dirty) {
      table.rows.sort((a, b) => (a.started_at < b.started_at ? 1 : a.started_at > b.started_at ? -1 : 0));
      table.rows.length = Math.min(table.rows.length, PAGE_SIZE);
      renderTable();
    }
  }

  function fill(tableEl, entries) {
    tableEl.replaceChildren();
    for (const [key, value] of entries) {
      const tr = document.createElement("tr");
      const th = document.createElement("th"); th.appendChild(text(key));
      const td = document.createElement("td"); td.appendChild(text(value));
      tr.append(th, td);
      tableEl.appendChild(tr);
    }
  }

  function renderTotals(totals) {
    fill($("pw-by-state"), Object.entries(totals.by_state));
    $("pw-in-grace").textContent = totals.in_grace;
    fill($("pw-by-game"), Object.entries(totals.active_by_game));
    fill($("pw-by-cafe"), Object.entries(totals.active_by_cafe));
    fill($("pw-by-reason"), Object.entries(totals.ended_last_hour_by_reason));
  }

  function renderTable() {
    const body = $("pw-sessions").querySelector("tbody");
    body.replaceChildren();
    for (const row of table.rows) {
      const tr = document.createElement("tr");
      tr.dataset.session = row.id;
      if (row.state !== "ACTIVE") tr.className = "pw-ended";
      else if (row.in_grace) tr.className = "pw-grace";
      const cells = [row.id, row.game, row.cafe, row.pc, row.user, row.state, row.end_reason,
        row.play_sec, row.coins, row.last_heartbeat_at.replace("T", " ").slice(0, 19)];
      for (const value of cells) {
        const td = document.createElement("td"); td.appendChild(text(value)); tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    $("pw-page").textContent = "page " + table.page + " of " + table.pages;
    $("pw-total").textContent = "(" + table.total + " sessions)";
    $("pw-prev").disabled = table.page <= 1;
    $("pw-next").disabled = table.page >= table.pages;
  }

  function renderGames(games) {
    const body = $("pw-games").querySelector("tbody");
    body.replaceChildren();
    for (const game of games || []) {
      const tr = document.createElement("tr");
      tr.dataset.code = game.code;
      for (const value of [game.code, game.game, game.status, game.players, game.bots]) {
        const td = document.createElement("td"); td.appendChild(text(value)); tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  }

  function polyline(svg, values, colour, max) {
    const step = 600 / Math.max(1, values.length - 1);
    const points = values.map((v, i) => (i * step).toFixed(1) + "," + (78 - (v / max) * 74).toFixed(1));
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", points.join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", colour);
    line.setAttribute("stroke-width", "2");
    svg.appendChild(line);
  }

  function renderHeartbeats(values) {
    const svg = $("pw-chart-heartbeats");
    svg.replaceChildren();
    polyline(svg, values, "#1565c0", Math.max(1, ...values));
  }

  function renderEnds(series) {
    const svg = $("pw-chart-ends");
    svg.replaceChildren();
    const max = Math.max(1, ...Object.values(series).flat());
    const legend = $("pw-ends-legend");
    legend.replaceChildren();
    for (const [reason, values] of Object.entries(series)) {
      polyline(svg, values, COLOURS[reason] || "#333", max);
      const item = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.style.background = COLOURS[reason] || "#333";
      item.append(swatch, text(reason + " " + values.reduce((a, b) => a + b, 0)));
      legend.appendChild(item);
    }
  }

  const form = $("pw-filters");
  let typing = null;
  form.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      const data = new FormData(form);
      query = { search: data.get("search"), state: data.get("state"), game: data.get("game"),
        cafe: data.get("cafe"), reason: data.get("reason"), page: 1 };
      send(Object.assign({ type: "query" }, query));
    }, 250);
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  $("pw-prev").addEventListener("click", () => { query.page = Math.max(1, table.page - 1); send(Object.assign({ type: "query" }, query)); });
  $("pw-next").addEventListener("click", () => { query.page = table.page + 1; send(Object.assign({ type: "query" }, query)); });

  connect();
})();
