// PlayWave games: the chat panel of the GM console and the player page. Load after map.js
// (PW.esc) and before the page's script.
//
//   const chat = PW.chat({log, form, input, send, reveal})
//     log     the <ol>/<ul> the lines go into; form and input: the composer
//     send    the page's send(msg) → true when it went out (the text is kept otherwise)
//     reveal  true to scroll the page to a new line too (the player page's log is not a box)
//   chat.add(message)        one {name, text} line; chat.replace(messages) the whole history
//   chat.clear()
"use strict";

(function () {
  function chat(opts) {
    const { log, form, input, send, reveal } = opts;

    function add(m) {
      const li = document.createElement("li");
      li.innerHTML = `<b>${PW.esc(m.name)}</b> ${PW.esc(m.text)}`;
      log.appendChild(li);
      log.scrollTop = log.scrollHeight;
      if (reveal) li.scrollIntoView({ block: "nearest" });
    }

    function clear() { log.innerHTML = ""; }

    function replace(messages) { clear(); messages.forEach(add); }

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const t = input.value.trim();
      if (t && send({ type: "chat", text: t })) input.value = "";
    });

    return { add, clear, replace };
  }

  window.PW = Object.assign(window.PW || {}, { chat });
})();
