// Custody: the little script the pages use where it is available. Every page
// works without it; with it, forms keep the session alive while typed in,
// list rows can be added, reference fields suggest records, the map zooms in
// place, and uploads go up one file at a time with progress, resumably (tus
// 1.0.0), with their SHA-256 computed in the browser.
"use strict";
(function () {
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // Keep the session alive while a long form is being filled in: typing is
  // activity, though it sends nothing until the form is saved.
  $$("form[data-keepalive]").forEach(function (form) {
    var last = Date.now();
    form.addEventListener("input", function () {
      if (Date.now() - last > 4 * 60 * 1000) {
        last = Date.now();
        fetch("/session/alive", { credentials: "same-origin" }).catch(function () {});
      }
    });
  });

  // Repeated rows (injuries, signs of torture, members): "add" copies the
  // blank row with the next free number.
  $$("fieldset.list").forEach(function (list) {
    var tpl = $("template.blank", list), btn = $("button.add-row", list), rows = $(".rows", list);
    if (!tpl || !btn || !rows) return;
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var next = 0;
      $$(":scope > fieldset.row", rows).forEach(function (r) {
        var i = parseInt(r.getAttribute("data-index"), 10);
        if (!isNaN(i) && i >= next) next = i + 1;
      });
      var n = $$(":scope > fieldset.row", rows).length + 1;
      var html = tpl.innerHTML.split("__i__").join(String(next)).split("__n__").join(String(n));
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var row = holder.firstElementChild;
      rows.appendChild(row);
      var first = $("input, select, textarea", row);
      if (first) first.focus();
    });
  });

  // Reference fields suggest records of their kind, or localities.
  var listSeq = 0;
  $$("input[data-ref]").forEach(function (input) {
    var kind = input.getAttribute("data-ref");
    if (kind === "item" || kind === "any") return;
    var dl = document.createElement("datalist");
    dl.id = "dl-" + (++listSeq);
    input.setAttribute("list", dl.id);
    input.parentNode.appendChild(dl);
    var timer = 0, lastQ = null;
    function load() {
      var q = input.value.trim();
      if (q === lastQ) return;
      lastQ = q;
      var url = kind === "locality" ? "/localities?q=" + encodeURIComponent(q)
        : "/lookup?kind=" + encodeURIComponent(kind) + "&q=" + encodeURIComponent(q);
      if (kind === "locality" && q.length < 2) return;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (items) {
          dl.textContent = "";
          items.forEach(function (s) {
            var o = document.createElement("option");
            o.value = s.value;
            o.label = s.label;
            o.textContent = s.label;
            dl.appendChild(o);
          });
        }).catch(function () {});
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(load, 250); });
    input.addEventListener("focus", load);
  });

  // The map: zoom, pan and filters replace the map in place.
  var view = $("#map-view");
  if (view && window.fetch && window.history) {
    var loadMap = function (href, push) {
      var u = new URL(href, location.href);
      view.setAttribute("aria-busy", "true");
      fetch("/map/view" + u.search, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          view.innerHTML = html;
          view.removeAttribute("aria-busy");
          if (push) history.pushState({ map: true }, "", "/map" + u.search);
          var f = $("#map-filters");
          if (f) {
            ["z", "lat", "lon"].forEach(function (k) {
              var el = f.elements[k];
              if (el) el.value = u.searchParams.get(k) || el.value;
            });
          }
        })
        .catch(function () { location.href = href; });
    };
    view.addEventListener("click", function (e) {
      var a = e.target.closest ? e.target.closest("a") : null;
      if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
      var href = a.getAttribute("href") || a.getAttribute("xlink:href");
      if (!href || href.indexOf("/map?") !== 0) return;
      e.preventDefault();
      loadMap(href, true);
    });
    window.addEventListener("popstate", function () {
      if (location.pathname === "/map") loadMap(location.href, false);
    });
  }

  // SHA-256, incremental, so that a file of any size is hashed in pieces
  // (crypto.subtle hashes only whole buffers, and only on HTTPS).
  var K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  function Sha256() {
    this.h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    this.w = new Uint32Array(64);
    this.buf = new Uint8Array(64);
    this.n = 0;
    this.len = 0;
  }
  Sha256.prototype.block = function (b, off) {
    var w = this.w, h = this.h, i, t1, t2;
    for (i = 0; i < 16; i++) {
      w[i] = (b[off + 4 * i] << 24) | (b[off + 4 * i + 1] << 16) | (b[off + 4 * i + 2] << 8) | b[off + 4 * i + 3];
    }
    for (i = 16; i < 64; i++) {
      var x = w[i - 15], y = w[i - 2];
      var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    var a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (i = 0; i < 64; i++) {
      t1 = (hh + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = bb; bb = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += bb; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  };
  Sha256.prototype.update = function (data) {
    var i = 0;
    this.len += data.length;
    if (this.n > 0) {
      while (this.n < 64 && i < data.length) this.buf[this.n++] = data[i++];
      if (this.n < 64) return;
      this.block(this.buf, 0);
      this.n = 0;
    }
    for (; i + 64 <= data.length; i += 64) this.block(data, i);
    while (i < data.length) this.buf[this.n++] = data[i++];
  };
  Sha256.prototype.hex = function () {
    var bits = this.len * 8, pad = new Uint8Array((this.n < 56 ? 64 : 128) - this.n);
    pad[0] = 0x80;
    var hi = Math.floor(bits / 4294967296), lo = bits >>> 0, L = pad.length;
    pad[L - 8] = hi >>> 24; pad[L - 7] = hi >>> 16; pad[L - 6] = hi >>> 8; pad[L - 5] = hi;
    pad[L - 4] = lo >>> 24; pad[L - 3] = lo >>> 16; pad[L - 2] = lo >>> 8; pad[L - 1] = lo;
    this.len -= pad.length; // padding is not content
    this.update(pad);
    var out = "";
    for (var j = 0; j < 8; j++) out += ("00000000" + (this.h[j] >>> 0).toString(16)).slice(-8);
    return out;
  };
  function hashFile(file, onProgress) {
    var sha = new Sha256(), off = 0, step = 4 << 20;
    function next() {
      if (off >= file.size) return Promise.resolve(sha.hex());
      return file.slice(off, off + step).arrayBuffer().then(function (buf) {
        sha.update(new Uint8Array(buf));
        off += buf.byteLength;
        if (onProgress) onProgress(off / file.size);
        return new Promise(function (res) { setTimeout(res, 0); }).then(next);
      });
    }
    return next();
  }

  // Upload.
  var form = $("#upload-form");
  if (!form || !window.fetch || !window.FormData) return;
  var texts = $("#upload-texts").dataset;
  var tusURL = form.getAttribute("data-tus");
  var maxSize = parseInt(form.getAttribute("data-max"), 10) || 0;
  var input = $("#u-files"), drop = $("#drop"), queue = $("#queue"), tpl = $("#queue-item");
  var pending = [];
  var here = $("#u-here");
  if (here && navigator.geolocation && window.isSecureContext) {
    here.hidden = false;
    here.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (p) {
        form.elements.lat.value = p.coords.latitude.toFixed(6);
        form.elements.lon.value = p.coords.longitude.toFixed(6);
      });
    });
  }

  function humanSize(n) {
    var u = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + " " + u[i];
  }
  function add(files) {
    Array.prototype.forEach.call(files, function (file) {
      var li = tpl.content.firstElementChild.cloneNode(true);
      $(".qname", li).textContent = file.name;
      $(".qsize", li).textContent = humanSize(file.size);
      $(".qstate", li).textContent = texts.waiting;
      queue.appendChild(li);
      var job = { file: file, li: li, hash: null };
      if (maxSize && file.size > maxSize) {
        $(".qstate", li).textContent = texts.toolarge;
        li.classList.add("failed");
        return;
      }
      pending.push(job);
      hashing = hashing.then(function () {
        return hashFile(file).then(function (h) {
          job.hash = h;
          $(".qhash", li).textContent = "sha256-" + h;
          check(job);
        });
      }).catch(function () {});
    });
    input.value = "";
  }
  var hashing = Promise.resolve();
  input.addEventListener("change", function () { add(input.files); });
  ["dragenter", "dragover"].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    drop.addEventListener(t, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files) add(e.dataTransfer.files);
  });

  function fields() {
    var out = {};
    ["case", "collector", "collected_at", "lat", "lon", "description"].forEach(function (k) {
      var v = form.elements[k] ? form.elements[k].value.trim() : "";
      if (v) out[k] = v;
    });
    out.device_time = new Date().toISOString();
    return out;
  }
  function setState(job, text, cls) {
    $(".qstate", job.li).textContent = text;
    if (cls) job.li.className = "qitem " + cls;
  }
  function check(job) {
    if (!job.result || !job.hash) return;
    var server = job.result.hash.replace(/^sha256-/, "");
    var el = $(".qhash", job.li);
    el.textContent = job.result.hash + " — " + (server === job.hash ? texts.match : texts.mismatch);
    el.classList.add(server === job.hash ? "ok" : "bad");
  }
  function finish(job, res) {
    job.result = res;
    setState(job, texts.done + (res.duplicate ? " · " + texts.duplicate : ""), "done");
    $("progress", job.li).value = 100;
    $(".qgps", job.li).textContent = res.position || texts.nogps;
    var a = document.createElement("a");
    a.href = res.href;
    a.textContent = texts.open;
    $(".qlink", job.li).appendChild(a);
    if (job.hash) check(job); else $(".qhash", job.li).textContent = res.hash;
  }
  function fail(job, msg) {
    setState(job, texts.failed + (msg ? ": " + msg : ""), "failed");
  }

  // One request per file (no upload directory on the server): progress,
  // but a dropped connection starts the file again.
  function plain(job) {
    return new Promise(function (resolve) {
      var fd = new FormData();
      fd.append("csrf", csrf);
      var f = fields();
      Object.keys(f).forEach(function (k) { fd.append(k, f[k]); });
      fd.append("file", job.file, job.file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/upload");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) $("progress", job.li).value = Math.floor(100 * e.loaded / e.total);
      };
      xhr.onload = function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        if (xhr.status === 201 && body && body.items && body.items.length && !body.items[0].error) finish(job, body.items[0]);
        else fail(job, body ? (body.error || (body.items && body.items[0] && body.items[0].error)) : String(xhr.status));
        resolve();
      };
      xhr.onerror = function () { fail(job, ""); resolve(); };
      setState(job, texts.uploading);
      xhr.send(fd);
    });
  }

  // tus 1.0.0: create, then PATCH in pieces; after a failure, ask the
  // server how much it has (HEAD) and go on from there. The upload's URL is
  // kept in localStorage, so even a reloaded page resumes.
  function b64(s) {
    var bytes = new TextEncoder().encode(s), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin);
  }
  function req(method, url, headers, body, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("Tus-Resumable", "1.0.0");
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      Object.keys(headers).forEach(function (k) { xhr.setRequestHeader(k, headers[k]); });
      if (onProgress && xhr.upload) xhr.upload.onprogress = onProgress;
      xhr.onload = function () { resolve(xhr); };
      xhr.onerror = function () { reject(new Error("network")); };
      xhr.ontimeout = xhr.onerror;
      xhr.send(body || null);
    });
  }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function errorText(x) {
    try { return JSON.parse(x.responseText).error.message; } catch (e) { return String(x.status); }
  }
  function tus(job) {
    var file = job.file, key = "tus:" + file.name + ":" + file.size + ":" + file.lastModified;
    var url = null, offset = 0, chunk = 8 << 20, failures = 0, result = null;
    function create() {
      var f = fields(), meta = ["filename " + b64(file.name)];
      if (file.type) meta.push("filetype " + b64(file.type));
      Object.keys(f).forEach(function (k) { meta.push(k + " " + b64(f[k])); });
      return req("POST", tusURL, { "Upload-Length": String(file.size), "Upload-Metadata": meta.join(",") }).then(function (x) {
        if (x.status !== 201) throw Object.assign(new Error(errorText(x)), { fatal: true });
        url = new URL(x.getResponseHeader("Location"), location.href).pathname;
        try { localStorage.setItem(key, url); } catch (e) { /* private mode */ }
        offset = 0;
      });
    }
    function resume() {
      var saved = null;
      try { saved = localStorage.getItem(key); } catch (e) { /* private mode */ }
      if (!saved) return create();
      return req("HEAD", saved, {}).then(function (x) {
        if (x.status !== 200 && x.status !== 204) return create();
        url = saved;
        offset = parseInt(x.getResponseHeader("Upload-Offset"), 10) || 0;
        result = x.getResponseHeader("Upload-Result");
      });
    }
    // send PATCHes from offset; the one that brings the last byte (or, if
    // taking it in failed before, an empty one at the end) answers with the
    // item in Upload-Result.
    function send() {
      if (result) return Promise.resolve();
      var end = Math.min(file.size, offset + chunk);
      setState(job, offset >= file.size ? texts.processing : texts.uploading);
      return req("PATCH", url, { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" }, file.slice(offset, end),
        function (e) {
          $("progress", job.li).value = Math.floor(100 * (offset + e.loaded) / Math.max(1, file.size));
          if (offset + e.loaded >= file.size) setState(job, texts.processing);
        })
        .then(function (x) {
          if (x.status === 204) {
            offset = parseInt(x.getResponseHeader("Upload-Offset"), 10) || end;
            result = x.getResponseHeader("Upload-Result");
            failures = 0;
            if (offset >= file.size && !result) throw Object.assign(new Error(texts.failed), { fatal: true });
            return send();
          }
          if (x.status === 409 || x.status === 423 || x.status >= 500 || x.status === 0) throw new Error("retry");
          throw Object.assign(new Error(errorText(x)), { fatal: true });
        })
        .catch(function (e) {
          if (e.fatal || ++failures > 30) throw e;
          setState(job, texts.retry);
          return sleep(Math.min(30000, 500 * Math.pow(2, Math.min(failures, 6)))).then(function () {
            return req("HEAD", url, {}).then(function (x) {
              offset = parseInt(x.getResponseHeader("Upload-Offset"), 10) || offset;
              result = x.getResponseHeader("Upload-Result");
            }, function () { /* still offline */ });
          }).then(send);
        });
    }
    return resume().then(send).then(function () {
      try { localStorage.removeItem(key); } catch (e) { /* private mode */ }
      finish(job, JSON.parse(result));
    }).catch(function (e) { fail(job, e && e.message); });
  }

  var running = false;
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (running) return;
    running = true;
    var jobs = pending.splice(0);
    jobs.reduce(function (p, job) {
      return p.then(function () { return tusURL ? tus(job) : plain(job); });
    }, Promise.resolve()).then(function () { running = false; });
  });
})();
