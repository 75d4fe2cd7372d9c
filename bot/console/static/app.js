// gridbot console: the few behaviours pages need, no library.
(function () {
  "use strict";
  // Login page: poll until the QR code was scanned, then go in.
  var qr = document.getElementById("qr");
  if (qr && qr.dataset.poll) {
    var state = document.getElementById("qrstate");
    var poll = function () {
      fetch(qr.dataset.poll, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (j) {
          if (j.done) { location.href = j.next || "/console/"; return; }
          if (j.expired) {
            if (state) state.textContent = "二维码已过期，正在刷新……";
            setTimeout(function () { location.reload(); }, 800);
            return;
          }
          setTimeout(poll, 1500);
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 1000);
  }
  // Copy buttons: data-copy names the element whose text is copied.
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("[data-copy]");
    if (!b) return;
    var el = document.getElementById(b.dataset.copy);
    var text = el ? el.textContent.trim() : "";
    var done = function () { b.textContent = "已复制"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { select(el); });
    } else { select(el); done(); }
  });
  function select(el) {
    var r = document.createRange(); r.selectNodeContents(el);
    var s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
    try { document.execCommand("copy"); } catch (x) {}
  }
  // Forms that ask before a change.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.dataset && f.dataset.confirm && !window.confirm(f.dataset.confirm)) e.preventDefault();
  });
})();
