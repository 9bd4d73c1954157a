// PlayWave: the one reconnecting WebSocket of every page (GM console, player page, live
// dashboard), its back-off and the close codes the servers send (docs/games.md, Close codes).
//
// API (window.PWSocket):
//   const s = PWSocket.open(path, {onOpen(s), onMessage(msg), onClose(code) → reconnect?, onRetry()})
//     path        "/ws/games/ABCD/": the URL is built on this page's host (wss: under https:)
//     onOpen      the socket is open (send the first message here)
//     onMessage   each frame, JSON-decoded
//     onClose     the socket closed with `code`; return true to reconnect after the back-off
//     onRetry     optional: what reconnecting means (default: the same path again, s.reopen())
//   s.send(msg)   JSON-encodes and sends; false when not connected (nothing is queued)
//   s.settled()   the server accepted us (welcome, snapshot …): the back-off starts over
//   s.reopen()    connect again now, with the same handlers
//   s.stop()      close for good; no handler runs again and no reconnect is pending
//   s.connected   true while open
//   PWSocket.CLOSE     the close codes by name; PWSocket.backoff(n) the n-th delay (ms)
//   PWSocket.url(path) the ws:// or wss:// URL of a path on this host
"use strict";

(function () {
  const CLOSE = {
    TOO_BIG: 1009, // a frame far over the size limit (after a too_large error)
    GAME_OVER: 4000, // the game is over
    KICKED: 4403, // games: the game master removed this player
    FORBIDDEN: 4403, // dashboard: signed out or no longer staff
    UNKNOWN_CODE: 4404, // no live game has this code
    REPLACED: 4409, // another tab or phone took this seat
    REAPED: 4410, // the server closed the session
    FLOODING: 4429, // too many messages (or joins with unknown codes): reconnect later
    OWNER_GONE: 4503, // the process holding the game went away: reconnect, it is found anew
  };
  const FIRST_DELAY_MS = 500;
  const MAX_DELAY_MS = 10000;

  function backoff(attempt) {
    return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt);
  }

  function url(path) {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}${path}`;
  }

  class Socket {
    constructor(path, handlers) {
      this.path = path;
      this.handlers = handlers;
      this.ws = null;
      this.attempt = 0;
      this.timer = null;
      this.stopped = false;
    }

    get connected() {
      return !!this.ws && this.ws.readyState === WebSocket.OPEN;
    }

    reopen() {
      this.cancel();
      this.stopped = false;
      const h = this.handlers;
      const ws = this.ws = new WebSocket(url(this.path));
      ws.onopen = () => { if (this.ws === ws && h.onOpen) h.onOpen(this); };
      ws.onmessage = (e) => { if (this.ws === ws) h.onMessage(JSON.parse(e.data)); };
      ws.onclose = (e) => {
        if (this.ws !== ws) return;
        this.ws = null;
        const again = h.onClose ? h.onClose(e.code) : true;
        if (!again || this.stopped) return;
        this.timer = setTimeout(() => {
          this.timer = null;
          if (this.ws || this.stopped) return;
          if (h.onRetry) h.onRetry(); else this.reopen();
        }, backoff(this.attempt++));
      };
      return this;
    }

    send(msg) {
      if (!this.connected) return false;
      this.ws.send(JSON.stringify(msg));
      return true;
    }

    settled() {
      this.attempt = 0;
    }

    cancel() {
      if (this.timer) { clearTimeout(this.timer); this.timer = null; }
      const ws = this.ws;
      this.ws = null;
      if (ws) { ws.onclose = null; ws.close(); }
    }

    stop() {
      this.stopped = true;
      this.cancel();
    }
  }

  function open(path, handlers) {
    return new Socket(path, handlers).reopen();
  }

  window.PWSocket = { open, CLOSE, backoff, url };
})();
