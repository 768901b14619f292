/* Fortify capture page. Plain JS, no dependencies, no external requests. */
(function () {
  "use strict";

  var TOKEN_KEY = "fortify.token";
  var $ = function (id) { return document.getElementById(id); };
  var state = { token: null, image: null, imageName: null, stream: null, urls: [], busy: false };

  function ApiError(status, code, message, requestId) {
    this.status = status; this.code = code; this.message = message; this.requestId = requestId;
  }

  /* ---------- status / alerts ---------- */
  function setStatus(text, kind) {
    var el = $("status");
    el.textContent = "";
    el.className = "status" + (kind ? " " + kind : "");
    if (!text) return;
    var p = document.createElement("p");
    if (kind === "error") p.setAttribute("role", "alert");
    p.textContent = text;
    el.appendChild(p);
    if (kind === "error" && el.scrollIntoView) el.scrollIntoView({ block: "nearest" });
  }
  function showError(err) {
    if (err instanceof ApiError) {
      var msg = "Error: " + err.message + (err.code ? " (" + err.code + ")" : "");
      if (err.requestId) msg += " — request " + err.requestId;
      setStatus(msg, "error");
    } else {
      setStatus("Error: could not reach the server. Check the connection and try again.", "error");
    }
  }

  /* ---------- API ---------- */
  function api(path, opts) {
    opts = opts || {};
    var headers = opts.headers || {};
    var token = opts.token || state.token;
    if (token) headers.Authorization = "Bearer " + token;
    headers.Accept = "application/json";
    return fetch(path, { method: opts.method || "GET", headers: headers, body: opts.body,
                         credentials: "same-origin", cache: "no-store" })
      .then(function (res) {
        return res.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          if (res.ok) return data;
          var e2 = (data && data.error) || {};
          throw new ApiError(res.status, e2.code || "http_" + res.status,
            e2.message || "The server answered " + res.status + " " + res.statusText,
            data && data.request_id);
        });
      });
  }

  /* ---------- object URLs ---------- */
  function trackUrl(blob) { var u = URL.createObjectURL(blob); state.urls.push(u); return u; }
  function revokeUrls() { state.urls.forEach(function (u) { URL.revokeObjectURL(u); }); state.urls = []; }

  /* ---------- sign in / out ---------- */
  function showSignedIn(me) {
    $("whoami").textContent = "Signed in as " + me.name + " (" + me.role + ")";
    $("signin-form").hidden = true;
    $("session").hidden = false;
    $("capture").hidden = false;
    $("auth-heading").textContent = "Session";
  }
  function showSignedOut() {
    $("signin-form").hidden = false;
    $("session").hidden = true;
    $("capture").hidden = true;
    $("auth-heading").textContent = "Sign in";
    $("whoami").textContent = "";
  }
  function signIn(token) {
    return api("/v1/me", { token: token }).then(function (me) {
      state.token = token;
      try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* storage disabled */ }
      showSignedIn(me || { name: "?", role: "?" });
      return me;
    });
  }
  function signOut(message) {
    state.token = null;
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
    stopCamera();
    clearImage();
    revokeUrls();
    $("results").textContent = "";
    $("search-form").reset();
    $("token").value = "";
    showSignedOut();
    setStatus(message || "Signed out.", message ? "error" : "");
    $("token").focus();
  }

  $("signin-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var token = $("token").value.trim();
    if (!token) { setStatus("Enter your access token.", "error"); $("token").focus(); return; }
    $("signin").disabled = true;
    setStatus("Checking token…");
    signIn(token).then(function (me) {
      $("token").value = "";
      setStatus("Signed in as " + me.name + ".");
      $("photo").focus();
    }, function (err) {
      showError(err);
      $("token").focus();
    }).then(function () { $("signin").disabled = false; });
  });
  $("signout").addEventListener("click", function () { signOut(); });

  /* ---------- image selection ---------- */
  function setImage(blob, name) {
    state.image = blob;
    state.imageName = name || "capture.jpg";
    var old = $("preview").getAttribute("src");
    if (old) URL.revokeObjectURL(old);
    $("preview").src = URL.createObjectURL(blob);
    $("preview-caption").textContent = state.imageName + " — " + Math.round(blob.size / 1024) + " KB";
    $("preview-wrap").hidden = false;
  }
  function clearImage() {
    state.image = null; state.imageName = null;
    var old = $("preview").getAttribute("src");
    if (old) URL.revokeObjectURL(old);
    $("preview").removeAttribute("src");
    $("preview-wrap").hidden = true;
  }
  $("photo").addEventListener("change", function () {
    var f = this.files && this.files[0];
    if (!f) { clearImage(); return; }
    if (f.type && f.type.indexOf("image/") !== 0) {
      clearImage(); this.value = "";
      setStatus("That file is not an image.", "error");
      return;
    }
    stopCamera();
    setImage(f, f.name);
    setStatus("Photo selected.");
  });

  /* ---------- live camera (optional) ---------- */
  var hasCamera = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  if (hasCamera) $("camera-start").hidden = false;

  function stopCamera() {
    if (state.stream) state.stream.getTracks().forEach(function (t) { t.stop(); });
    state.stream = null;
    $("camera-video").srcObject = null;
    $("camera").hidden = true;
    if (hasCamera) $("camera-start").hidden = false;
  }
  $("camera-start").addEventListener("click", function () {
    setStatus("Starting camera…");
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" }, audio: false })
      .then(function (stream) {
        state.stream = stream;
        var v = $("camera-video");
        v.srcObject = stream;
        return v.play();
      })
      .then(function () {
        $("camera").hidden = false;
        $("camera-start").hidden = true;
        setStatus("Camera on. Press Take photo when ready.");
        $("camera-shot").focus();
      })
      .catch(function (err) {
        stopCamera();
        setStatus("Camera unavailable: " + (err && err.message ? err.message : err) +
          ". Use the photo picker instead.", "error");
      });
  });
  $("camera-stop").addEventListener("click", function () { stopCamera(); setStatus("Camera closed."); $("camera-start").focus(); });
  $("camera-shot").addEventListener("click", function () {
    var v = $("camera-video"), c = $("camera-canvas");
    if (!v.videoWidth) { setStatus("Camera not ready yet, try again.", "error"); return; }
    c.width = v.videoWidth; c.height = v.videoHeight;
    c.getContext("2d").drawImage(v, 0, 0, c.width, c.height);
    c.toBlob(function (blob) {
      if (!blob) { setStatus("Could not capture the photo.", "error"); return; }
      $("photo").value = "";
      stopCamera();
      setImage(blob, "camera.jpg");
      setStatus("Photo taken.");
      $("purpose").focus();
    }, "image/jpeg", 0.92);
  });

  /* ---------- search ---------- */
  function setBusy(b) {
    state.busy = b;
    $("search").disabled = b;
    $("search").textContent = b ? "Searching…" : "Search";
    $("search-form").setAttribute("aria-busy", b ? "true" : "false");
  }

  $("search-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (state.busy) return;
    if (!state.token) { signOut("Please sign in first."); return; }
    if (!state.image) { setStatus("Take or choose a photo first.", "error"); $("photo").focus(); return; }
    var purpose = $("purpose").value.trim();
    if (!purpose) {
      $("purpose").setAttribute("aria-invalid", "true");
      setStatus("Purpose is required: state why you are running this search.", "error");
      $("purpose").focus();
      return;
    }
    $("purpose").removeAttribute("aria-invalid");
    var fd = new FormData();
    fd.append("image", state.image, state.imageName);
    fd.append("purpose", purpose);
    var caseId = $("case_id").value.trim();
    if (caseId) fd.append("case_id", caseId);
    fd.append("top_k", $("top_k").value);

    setBusy(true);
    revokeUrls();
    $("results").textContent = "";
    setStatus("Searching…");
    api("/v1/searches", { method: "POST", body: fd }).then(function (data) {
      renderResults(data);
      setStatus(data.decision === "candidates"
        ? "Search complete: " + data.candidates.length + " candidate(s). Investigative lead only."
        : "Search complete: no candidate above the threshold.");
      $("results").focus();
    }, function (err) {
      if (err instanceof ApiError && err.status === 401) {
        signOut("Session expired or token rejected: " + err.message + " (" + err.code + ")");
      } else {
        showError(err);
      }
    }).then(function () { setBusy(false); });
  });

  /* ---------- rendering ---------- */
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fmtScore(s) { var n = Number(s); return isFinite(n) ? n.toFixed(2) : "?"; }

  function loadPhoto(url, img, holder) {
    // Only send the bearer token to our own origin.
    if (typeof url !== "string" || url.charAt(0) !== "/" || url.charAt(1) === "/") {
      holder.textContent = "No photo"; return;
    }
    api.raw(url).then(function (blob) { img.src = trackUrl(blob); holder.textContent = ""; holder.appendChild(img); },
      function () { holder.textContent = "Photo unavailable"; });
  }
  api.raw = function (url) {
    return fetch(url, { headers: { Authorization: "Bearer " + state.token }, credentials: "same-origin", cache: "no-store" })
      .then(function (res) { if (!res.ok) throw new Error(String(res.status)); return res.blob(); });
  };

  function renderResults(d) {
    revokeUrls();
    var root = $("results");
    root.textContent = "";

    if (d.notice) root.appendChild(el("p", "notice", d.notice));

    var q = d.probe && d.probe.quality;
    if (q && q.warnings && q.warnings.length) {
      var w = el("div", "warnings");
      w.appendChild(el("h3", null, "Probe quality warnings"));
      var ul = el("ul");
      q.warnings.forEach(function (m) { ul.appendChild(el("li", null, m)); });
      w.appendChild(ul);
      root.appendChild(w);
    }

    var cands = d.candidates || [];
    if (d.decision !== "candidates" || !cands.length) {
      root.appendChild(el("p", "decision none", "No candidate above the threshold."));
    } else {
      root.appendChild(el("p", "decision", cands.length + " candidate(s) above the threshold, best first."));
      var ol = el("ol", "candidates");
      cands.forEach(function (c) {
        var li = el("li", "cand");
        var ph = el("div", "cand-photo", "Loading photo…");
        var img = el("img");
        img.alt = "Reference photo for " + (c.display_name || c.reference);
        loadPhoto(c.photo_url, img, ph);
        li.appendChild(ph);
        var body = el("div", "cand-body");
        var top = el("p", "cand-top");
        top.appendChild(el("span", "rank", "#" + c.rank));
        top.appendChild(el("span", "score", "Score " + fmtScore(c.score)));
        body.appendChild(top);
        body.appendChild(el("p", "cand-name", c.display_name || "(no name)"));
        if (c.synthetic) body.appendChild(el("span", "badge", "SYNTHETIC RECORD"));
        var dl = el("dl");
        [["Reference", c.reference], ["Source", c.source], ["Samples compared", c.samples_compared]]
          .forEach(function (kv) {
            if (kv[1] === undefined || kv[1] === null || kv[1] === "") return;
            var row = el("div");
            row.appendChild(el("dt", null, kv[0])); row.appendChild(el("dd", null, kv[1]));
            dl.appendChild(row);
          });
        body.appendChild(dl);
        li.appendChild(body);
        ol.appendChild(li);
      });
      root.appendChild(ol);
    }

    var meta = el("p", "small");
    meta.textContent = "Search " + d.search_id + " · threshold " + d.threshold +
      (d.model ? " · model " + d.model : "") + (d.operator ? " · operator " + d.operator : "") +
      (d.case_id ? " · case " + d.case_id : "") + (d.created_at ? " · " + d.created_at : "");
    root.appendChild(meta);
  }

  /* ---------- restore session ---------- */
  var saved = null;
  try { saved = sessionStorage.getItem(TOKEN_KEY); } catch (e) { /* ignore */ }
  if (saved) {
    setStatus("Restoring session…");
    signIn(saved).then(function () { setStatus(""); }, function (err) {
      if (err instanceof ApiError && err.status === 401) signOut("Saved session is no longer valid. Please sign in again.");
      else showError(err);
    });
  }
  window.addEventListener("pagehide", stopCamera);
})();
